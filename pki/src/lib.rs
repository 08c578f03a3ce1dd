//! Placeholder: the pki library.

//! tandem library.

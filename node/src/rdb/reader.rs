//! The byte source the decoder reads from: exact reads from any [`Read`], counting the
//! offset (for error messages) and keeping the running CRC-64 (for the trailer).
//!
//! It never reads ahead: after the last byte of an RDB it has consumed exactly the RDB,
//! so whatever follows on the same stream (the 40-byte EOF mark of a diskless transfer,
//! the replication stream) is still there for the caller.

use std::io::Read;

use super::crc64::crc64;
use super::error::RdbError;

/// Reads are split into chunks of this size, so a declared length is only allocated as
/// the bytes actually arrive: a corrupt length cannot make us allocate gigabytes.
const CHUNK: usize = 64 * 1024;

#[derive(Debug)]
pub struct Source<R> {
    inner: R,
    offset: u64,
    crc: u64,
}

impl<R: Read> Source<R> {
    pub fn new(inner: R) -> Source<R> {
        Source {
            inner,
            offset: 0,
            crc: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// CRC-64 of the bytes consumed so far.
    pub fn crc(&self) -> u64 {
        self.crc
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    pub fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        self.inner
            .read_exact(buf)
            .map_err(|e| RdbError::from_io(self.offset, e))?;
        self.crc = crc64(self.crc, buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    pub fn u8(&mut self) -> Result<u8, RdbError> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    /// Exactly `n` bytes, allocated as they arrive.
    pub fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        if n <= CHUNK as u64 {
            let mut v = vec![0u8; n as usize];
            self.fill(&mut v)?;
            return Ok(v);
        }
        let mut v = Vec::with_capacity(CHUNK);
        let mut remaining = n;
        while remaining > 0 {
            let take = remaining.min(CHUNK as u64) as usize;
            let start = v.len();
            v.resize(start + take, 0);
            self.fill(&mut v[start..])?;
            remaining -= take as u64;
        }
        Ok(v)
    }
}

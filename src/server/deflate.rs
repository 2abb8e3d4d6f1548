//! The COMPRESS=DEFLATE stream layer (RFC 4978 §4): raw DEFLATE (RFC
//! 1951, no zlib header) in both directions, each write ended with a sync
//! flush so the client can decode everything sent so far. Pure: bytes in,
//! bytes out; the connection does the I/O.
//!
//! Inflating is bounded: one call yields at most [`MAX_INFLATE`] bytes and
//! keeps the rest of the compressed input for the next, so a small
//! compressed "bomb" cannot make the server buffer gigabytes.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Most decompressed bytes produced per [`Deflate::inflate`] call.
pub const MAX_INFLATE: usize = 64 * 1024;

/// Compression state of one connection.
pub struct Deflate {
    out: Compress,
    inp: Decompress,
    /// Compressed input not yet inflated.
    pending: Vec<u8>,
    /// The last inflate filled its output: the decompressor may hold more
    /// even with no input left.
    full: bool,
}

/// The peer sent something that is not DEFLATE data.
#[derive(Debug)]
pub struct CorruptStream;

impl Default for Deflate {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflate {
    /// Fresh compressor and decompressor, raw DEFLATE.
    pub fn new() -> Self {
        Deflate {
            out: Compress::new(Compression::new(6), false),
            inp: Decompress::new(false),
            pending: Vec::new(),
            full: false,
        }
    }

    /// Compresses `data` and sync-flushes, so that the output decodes to all
    /// of `data` at once.
    pub fn deflate(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut consumed = 0usize;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let before = self.out.total_in();
            // Invariant: compressing into a Vec never fails for a valid
            // stream; an error would be a bug in the state handling.
            let status = self
                .out
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
                .unwrap_or(Status::StreamEnd);
            consumed += (self.out.total_in() - before) as usize;
            let spare = out.len() < out.capacity();
            if status == Status::StreamEnd || (consumed >= data.len() && spare) {
                break;
            }
        }
        out
    }

    /// The buffer compressed input from the peer is read into.
    pub fn input(&mut self) -> &mut Vec<u8> {
        &mut self.pending
    }

    /// Whether compressed input is waiting to be inflated.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.full
    }

    /// Inflates waiting input into `into`, at most [`MAX_INFLATE`] bytes.
    pub fn inflate(&mut self, into: &mut Vec<u8>) -> Result<usize, CorruptStream> {
        let start = into.len();
        into.reserve(MAX_INFLATE);
        let limit = start + MAX_INFLATE;
        while self.has_pending() && into.len() < limit {
            let before_in = self.inp.total_in();
            let before_out = into.len();
            // Never let one call write past the limit.
            let room = limit - into.len();
            let mut chunk = Vec::with_capacity(room);
            let status = self
                .inp
                .decompress_vec(&self.pending, &mut chunk, FlushDecompress::None)
                .map_err(|_| CorruptStream)?;
            self.full = chunk.len() == room;
            into.extend_from_slice(&chunk);
            let used = (self.inp.total_in() - before_in) as usize;
            self.pending.drain(..used);
            if status == Status::StreamEnd {
                self.pending.clear();
                self.full = false;
                break;
            }
            if used == 0 && into.len() == before_out {
                // Needs more input than is here.
                self.full = false;
                break;
            }
        }
        Ok(into.len() - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_sync_flush() {
        let mut server = Deflate::new();
        let mut client = Deflate::new();
        for msg in [
            &b"* OK hello\r\n"[..],
            b"",
            &[b'x'; 200_000][..],
            b"a1 OK done\r\n",
        ] {
            let wire = server.deflate(msg);
            client.input().extend_from_slice(&wire);
            let mut got = Vec::new();
            while client.has_pending() {
                let before = got.len();
                client.inflate(&mut got).unwrap();
                if got.len() == before {
                    break;
                }
            }
            assert_eq!(got, msg);
        }
    }

    #[test]
    fn a_bomb_is_inflated_in_bounded_steps() {
        let mut peer = Deflate::new();
        let wire = peer.deflate(&vec![b'A'; 10 << 20]);
        assert!(wire.len() < 64 * 1024);
        let mut me = Deflate::new();
        me.input().extend_from_slice(&wire);
        let mut buf = Vec::new();
        let n = me.inflate(&mut buf).unwrap();
        assert_eq!(n, MAX_INFLATE);
        assert!(me.has_pending());
        // All of it comes out, step by step.
        while me.has_pending() {
            me.inflate(&mut buf).unwrap();
        }
        assert_eq!(buf.len(), 10 << 20);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut me = Deflate::new();
        me.input().extend_from_slice(&[0xff; 64]);
        let mut buf = Vec::new();
        assert!(me.inflate(&mut buf).is_err());
    }
}

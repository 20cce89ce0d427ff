//! Compressed request bodies. Elasticsearch inflates every request body sent with
//! `Content-Encoding: gzip` or `deflate` (any case, `x-` forms too) before an API sees it, and
//! reads a body in any other encoding as it came; so does the service, for the APIs it answers.
//! The size limit applies to the inflated body, so a small body that inflates past it is refused
//! without being held. (Passed-through bodies go on to the node untouched.)

use std::io::Read;

use actix_web::http::header::{HeaderMap, CONTENT_ENCODING};
use actix_web::web::Bytes;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

use crate::error::{ApiError, ErrorType};

/// The compression a request body arrives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Deflate,
}

impl Compression {
    /// From `Content-Encoding`; `None` for a body read as it came (none, `identity`, or an
    /// encoding Elasticsearch does not inflate).
    pub(crate) fn of(headers: &HeaderMap) -> Option<Self> {
        let encoding = headers.get(CONTENT_ENCODING)?.to_str().ok()?.trim();
        if encoding.eq_ignore_ascii_case("gzip") || encoding.eq_ignore_ascii_case("x-gzip") {
            Some(Self::Gzip)
        } else if encoding.eq_ignore_ascii_case("deflate") || encoding.eq_ignore_ascii_case("x-deflate") {
            Some(Self::Deflate)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
        }
    }

    /// The body inflated, at most `limit` bytes of it: more is a 413, a stream that is not
    /// whole and valid a 400.
    pub(crate) fn inflate(self, body: &[u8], limit: usize) -> Result<Bytes, ApiError> {
        if body.is_empty() {
            return Ok(Bytes::new());
        }
        let reader: Box<dyn Read + '_> = match self {
            Self::Gzip => Box::new(MultiGzDecoder::new(body)),
            // `deflate` is meant to be zlib-wrapped; some clients send the raw stream. A zlib
            // header is two bytes whose value is a multiple of 31, with method 8.
            Self::Deflate
                if body.len() >= 2
                    && body[0] & 0x0f == 8
                    && u16::from_be_bytes([body[0], body[1]]).is_multiple_of(31) =>
            {
                Box::new(ZlibDecoder::new(body))
            }
            Self::Deflate => Box::new(DeflateDecoder::new(body)),
        };
        let mut inflated = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut inflated)
            .map_err(|err| {
                ApiError::new(
                    ErrorType::IllegalArgument,
                    format!(
                        "the request body could not be decompressed (Content-Encoding: {}): {err}",
                        self.name()
                    ),
                )
            })?;
        if inflated.len() > limit {
            return Err(ApiError::new(
                ErrorType::ContentTooLong,
                format!("the request body is larger than max_body_size ({limit} bytes) once decompressed"),
            ));
        }
        Ok(Bytes::from(inflated))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use actix_web::http::header::HeaderValue;
    use actix_web::ResponseError;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

    use super::*;

    fn encoding(value: &str) -> Option<Compression> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
        Compression::of(&headers)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_and_deflate_in_any_case_and_nothing_else_are_inflated() {
        assert_eq!(encoding("GZIP"), Some(Compression::Gzip));
        assert_eq!(encoding("x-gzip"), Some(Compression::Gzip));
        assert_eq!(encoding("Deflate"), Some(Compression::Deflate));
        assert_eq!(encoding("identity"), None);
        assert_eq!(encoding("br"), None);
        assert_eq!(encoding("zstd"), None);
    }

    #[test]
    fn bodies_come_back_whole() {
        let json = br#"{"worker_hostname":"w"}"#;
        assert_eq!(&Compression::Gzip.inflate(&gzip(json), 1024).unwrap()[..], json);
        let mut zlib = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(json).unwrap();
        assert_eq!(
            &Compression::Deflate
                .inflate(&zlib.finish().unwrap(), 1024)
                .unwrap()[..],
            json
        );
        let mut raw = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(json).unwrap();
        assert_eq!(
            &Compression::Deflate
                .inflate(&raw.finish().unwrap(), 1024)
                .unwrap()[..],
            json
        );
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit_and_a_broken_stream_is_a_bad_request() {
        let bomb = gzip(&vec![b' '; 4 * 1024 * 1024]);
        assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
        let err = Compression::Gzip.inflate(&bomb, 1024 * 1024).unwrap_err();
        assert_eq!(err.status_code(), 413);
        let mut truncated = gzip(br#"{"a":1}"#);
        truncated.truncate(truncated.len() - 6);
        assert_eq!(
            Compression::Gzip
                .inflate(&truncated, 1024)
                .unwrap_err()
                .status_code(),
            400
        );
        assert_eq!(
            Compression::Gzip
                .inflate(b"not gzip", 1024)
                .unwrap_err()
                .status_code(),
            400
        );
    }
}

//! The handwritten-signature image: a PNG decoded under limits and re-encoded
//! canonically, so that what is hashed, stored and signed is exactly what is shown.
//!
//! [`SignatureImage::canonicalize`] walks the chunks first (signature, lengths, every
//! chunk's CRC, `IHDR` first with bounded dimensions, `IEND` last, nothing after it),
//! then decodes the pixels with the `png` crate under a memory limit
//! ([`SIGNATURE_IMAGE_DECODED_BYTES_MAX`], checked before anything is inflated, so a
//! decompression bomb is refused without being expanded), and writes them back as one
//! fixed form:
//!
//! - 8-bit RGBA, not interlaced; palettes, grayscale, 16-bit samples and `tRNS`
//!   transparency are expanded; fully transparent pixels become `0,0,0,0` (they look
//!   the same whatever their colour);
//! - `IHDR`, one or more `IDAT`, `IEND` and no other chunk (text, time, colour-profile
//!   and every other ancillary chunk are dropped);
//! - the encoder's fixed settings ([`png::Compression::Balanced`],
//!   [`png::Filter::Adaptive`]).
//!
//! Equal pixels therefore give equal bytes and an equal digest, and canonicalizing a
//! canonical image returns it unchanged. The bytes depend on the `png` encoder's
//! version; a frozen digest in the tests catches a change, and images already stored
//! keep their bytes (their digests were recorded from those bytes).

use std::io::Cursor;

use sha2::{Digest as _, Sha256};

use crate::{Error, Sha256Digest};

/// Largest signature image accepted as input, and produced, in bytes.
pub const SIGNATURE_IMAGE_BYTES_MAX: usize = 256 * 1024;

/// Widest signature image accepted, in pixels.
pub const SIGNATURE_IMAGE_WIDTH_MAX: u32 = 2048;

/// Tallest signature image accepted, in pixels.
pub const SIGNATURE_IMAGE_HEIGHT_MAX: u32 = 1024;

/// Most bytes the decoder may hold for the decoded image (its own format, before the
/// conversion to 8-bit RGBA) and its working buffers.
pub const SIGNATURE_IMAGE_DECODED_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Most chunks accepted in an input PNG.
pub const SIGNATURE_IMAGE_CHUNKS_MAX: usize = 1024;

/// The eight bytes every PNG starts with.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// What is wrong with a signature image. No variant holds image content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageProblem {
    /// The bytes do not start with the PNG signature.
    NotPng,
    /// A chunk runs past the end of the input, or the input ends before `IEND`.
    Truncated,
    /// A chunk's CRC does not match its type and data.
    ChunkCrcMismatch {
        /// The chunk type, e.g. `IDAT` (printable ASCII, else hex).
        chunk: String,
    },
    /// The first chunk is not a 13-byte `IHDR`.
    HeaderMissing,
    /// Width or height is zero or above [`SIGNATURE_IMAGE_WIDTH_MAX`] ×
    /// [`SIGNATURE_IMAGE_HEIGHT_MAX`].
    DimensionsOutOfRange {
        /// Width in pixels, as declared.
        width: u32,
        /// Height in pixels, as declared.
        height: u32,
    },
    /// Decoding would need more than [`SIGNATURE_IMAGE_DECODED_BYTES_MAX`] bytes (a
    /// decompression bomb, or simply too many pixels in too deep a format).
    DecodedTooLarge,
    /// Bytes after `IEND`.
    TrailingData,
    /// More than [`SIGNATURE_IMAGE_CHUNKS_MAX`] chunks.
    TooManyChunks,
    /// A valid PNG this platform does not accept (an animated PNG).
    Unsupported {
        /// What is not supported.
        what: &'static str,
    },
    /// The canonical re-encoding is larger than [`SIGNATURE_IMAGE_BYTES_MAX`] (a noisy
    /// image that only a palette kept small).
    CanonicalTooLarge {
        /// Size of the canonical encoding in bytes.
        bytes: usize,
    },
    /// The decoder refused the image data (bad compressed stream, wrong amount of
    /// data, an invalid header field).
    Undecodable {
        /// The decoder's reason.
        reason: String,
    },
}

impl std::fmt::Display for ImageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotPng => f.write_str("not a PNG image (no PNG signature)"),
            Self::Truncated => f.write_str("truncated PNG (a chunk or IEND is missing)"),
            Self::ChunkCrcMismatch { chunk } => write!(f, "the CRC of chunk {chunk} is wrong"),
            Self::HeaderMissing => f.write_str("the first chunk is not IHDR"),
            Self::DimensionsOutOfRange { width, height } => write!(
                f,
                "{width}×{height} pixels: width must be 1 to {SIGNATURE_IMAGE_WIDTH_MAX}, \
                 height 1 to {SIGNATURE_IMAGE_HEIGHT_MAX}"
            ),
            Self::DecodedTooLarge => write!(
                f,
                "decoding needs more than {SIGNATURE_IMAGE_DECODED_BYTES_MAX} bytes"
            ),
            Self::TrailingData => f.write_str("bytes after IEND"),
            Self::TooManyChunks => write!(f, "more than {SIGNATURE_IMAGE_CHUNKS_MAX} chunks"),
            Self::Unsupported { what } => write!(f, "{what} is not supported"),
            Self::CanonicalTooLarge { bytes } => write!(
                f,
                "the canonical image is {bytes} bytes, above {SIGNATURE_IMAGE_BYTES_MAX}"
            ),
            Self::Undecodable { reason } => write!(f, "the image data does not decode: {reason}"),
        }
    }
}

/// A signature image in canonical form (see the [module documentation](self)): only
/// [`SignatureImage::canonicalize`] makes one.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureImage {
    png: Vec<u8>,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for SignatureImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.png.len())
            .finish()
    }
}

impl SignatureImage {
    /// Decodes `png` under the limits above and re-encodes it canonically.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for input over [`SIGNATURE_IMAGE_BYTES_MAX`];
    /// [`Error::SignatureImageInvalid`] with the [`ImageProblem`] otherwise.
    pub fn canonicalize(png: &[u8]) -> Result<Self, Error> {
        if png.len() > SIGNATURE_IMAGE_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "signature image",
                actual: png.len(),
                limit: SIGNATURE_IMAGE_BYTES_MAX,
            });
        }
        let (width, height) = check_chunks(png).map_err(invalid)?;
        let rgba = decode_rgba(png, width, height).map_err(invalid)?;
        let canonical = encode_rgba(&rgba, width, height).map_err(invalid)?;
        if canonical.len() > SIGNATURE_IMAGE_BYTES_MAX {
            return Err(invalid(ImageProblem::CanonicalTooLarge {
                bytes: canonical.len(),
            }));
        }
        Ok(Self {
            png: canonical,
            width,
            height,
        })
    }

    /// The canonical PNG bytes: what is stored, shown and hashed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.png
    }

    /// The canonical PNG bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.png
    }

    /// SHA-256 of [`Self::as_bytes`]: the digest that the signed event and the CMS
    /// signed attributes carry.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest::from_bytes(Sha256::digest(&self.png).into())
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
}

fn invalid(problem: ImageProblem) -> Error {
    Error::SignatureImageInvalid { problem }
}

/// Walks the chunks: signature, lengths, CRCs, `IHDR` first with bounded dimensions,
/// `IEND` last. Returns the dimensions.
fn check_chunks(png: &[u8]) -> Result<(u32, u32), ImageProblem> {
    let rest = png
        .strip_prefix(&PNG_SIGNATURE)
        .ok_or(ImageProblem::NotPng)?;
    let mut at = 0usize;
    let mut dimensions = None;
    let mut count = 0usize;
    loop {
        if count == SIGNATURE_IMAGE_CHUNKS_MAX {
            return Err(ImageProblem::TooManyChunks);
        }
        count += 1;
        let header = rest.get(at..at + 8).ok_or(ImageProblem::Truncated)?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        // At most the input's length (≤ 256 KiB), so the sums below cannot overflow.
        let length = usize::try_from(length).map_err(|_| ImageProblem::Truncated)?;
        if length > rest.len() {
            return Err(ImageProblem::Truncated);
        }
        let data = rest
            .get(at + 8..at + 8 + length)
            .ok_or(ImageProblem::Truncated)?;
        let crc = rest
            .get(at + 8 + length..at + 12 + length)
            .ok_or(ImageProblem::Truncated)?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&kind);
        hasher.update(data);
        if hasher.finalize().to_be_bytes() != crc {
            return Err(ImageProblem::ChunkCrcMismatch {
                chunk: chunk_name(kind),
            });
        }
        if count == 1 {
            if &kind != b"IHDR" || length != 13 {
                return Err(ImageProblem::HeaderMissing);
            }
            let width = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let height = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            if width == 0
                || height == 0
                || width > SIGNATURE_IMAGE_WIDTH_MAX
                || height > SIGNATURE_IMAGE_HEIGHT_MAX
            {
                return Err(ImageProblem::DimensionsOutOfRange { width, height });
            }
            dimensions = Some((width, height));
        }
        if &kind == b"acTL" {
            return Err(ImageProblem::Unsupported {
                what: "an animated PNG",
            });
        }
        at += 12 + length;
        if &kind == b"IEND" {
            if at != rest.len() {
                return Err(ImageProblem::TrailingData);
            }
            return dimensions.ok_or(ImageProblem::HeaderMissing);
        }
    }
}

/// A chunk type for messages: the four letters when printable, else hex.
fn chunk_name(kind: [u8; 4]) -> String {
    if kind.iter().all(u8::is_ascii_alphabetic) {
        kind.iter().map(|&b| char::from(b)).collect()
    } else {
        kind.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Decodes the image (already checked by [`check_chunks`]) to 8-bit RGBA, fully
/// transparent pixels zeroed.
fn decode_rgba(png: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ImageProblem> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(png),
        png::Limits {
            bytes: SIGNATURE_IMAGE_DECODED_BYTES_MAX,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = decoder.read_header_info().map_err(decode_problem)?;
    // The decoded size in the image's own format, checked before anything is inflated:
    // a bomb is refused here, not after expanding it.
    // The inflated stream: a filter byte and the packed samples per row.
    // At most 64 (four 16-bit samples).
    let bits = u64::try_from(header.bits_per_pixel()).unwrap_or(u64::MAX);
    let row_bytes = u64::from(width).saturating_mul(bits).div_ceil(8);
    let decoded_bytes = u64::from(height).saturating_mul(row_bytes.saturating_add(1));
    if decoded_bytes > SIGNATURE_IMAGE_DECODED_BYTES_MAX as u64 {
        return Err(ImageProblem::DecodedTooLarge);
    }
    let mut reader = decoder.read_info().map_err(decode_problem)?;
    let size = reader
        .output_buffer_size()
        .filter(|&n| n <= SIGNATURE_IMAGE_DECODED_BYTES_MAX)
        .ok_or(ImageProblem::DecodedTooLarge)?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(decode_problem)?;
    reader.finish().map_err(decode_problem)?;
    let (color, depth) = (frame.color_type, frame.bit_depth);
    if depth != png::BitDepth::Eight || (frame.width, frame.height) != (width, height) {
        return Err(ImageProblem::Undecodable {
            reason: "unexpected output format".into(),
        });
    }
    let pixels = buffer.get(..frame.buffer_size()).unwrap_or_default();
    // Rows are packed for 8-bit output (no padding), so pixels are contiguous.
    let mut rgba = Vec::with_capacity(pixels.len() / color.samples() * 4);
    let mut push = |r: u8, g: u8, b: u8, a: u8| {
        if a == 0 {
            rgba.extend_from_slice(&[0, 0, 0, 0]);
        } else {
            rgba.extend_from_slice(&[r, g, b, a]);
        }
    };
    match color {
        png::ColorType::Grayscale => pixels.iter().for_each(|&v| push(v, v, v, 255)),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .for_each(|p| push(p[0], p[0], p[0], p[1])),
        png::ColorType::Rgb => pixels
            .chunks_exact(3)
            .for_each(|p| push(p[0], p[1], p[2], 255)),
        png::ColorType::Rgba => pixels
            .chunks_exact(4)
            .for_each(|p| push(p[0], p[1], p[2], p[3])),
        png::ColorType::Indexed => {
            return Err(ImageProblem::Undecodable {
                reason: "palette not expanded".into(),
            });
        }
    }
    Ok(rgba)
}

/// The one canonical encoding of 8-bit RGBA pixels.
fn encode_rgba(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ImageProblem> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    encoder.set_filter(png::Filter::Adaptive);
    let encoded = (|| {
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgba)?;
        writer.finish()
    })();
    encoded.map_err(|e| ImageProblem::Undecodable {
        reason: format!("re-encoding failed: {e}"),
    })?;
    Ok(out)
}

fn decode_problem(error: png::DecodingError) -> ImageProblem {
    match error {
        png::DecodingError::LimitsExceeded => ImageProblem::DecodedTooLarge,
        png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageProblem::Truncated
        }
        other => ImageProblem::Undecodable {
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG written by the `png` encoder with the given format (not canonical).
    fn encode(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    /// A chunk with its length and CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(kind);
        hasher.update(data);
        out.extend_from_slice(&hasher.finalize().to_be_bytes());
        out
    }

    fn ihdr(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
        let mut data = Vec::new();
        data.extend_from_slice(&width.to_be_bytes());
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[depth, color, 0, 0, 0]);
        chunk(b"IHDR", &data)
    }

    /// A PNG by hand: signature, IHDR, one IDAT of `idat`, IEND.
    fn by_hand(width: u32, height: u32, depth: u8, color: u8, idat: &[u8]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        out.extend(ihdr(width, height, depth, color));
        out.extend(chunk(b"IDAT", idat));
        out.extend(chunk(b"IEND", b""));
        out
    }

    /// A zlib stream of `len` zero bytes, deflate level 9 (about 1000:1).
    fn zeros_zlib(len: usize) -> Vec<u8> {
        use std::io::Write as _;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len());
            z.write_all(&zeros[..n]).unwrap();
            left -= n;
        }
        z.finish().unwrap()
    }

    fn problem(bytes: &[u8]) -> ImageProblem {
        match SignatureImage::canonicalize(bytes) {
            Err(Error::SignatureImageInvalid { problem }) => problem,
            other => panic!("expected an image problem, got {other:?}"),
        }
    }

    fn signature_like() -> Vec<u8> {
        // 16×6 gray-alpha: a diagonal stroke on a transparent background.
        let mut data = Vec::new();
        for y in 0..6u8 {
            for x in 0..16u8 {
                let ink = x / 3 == y;
                data.extend_from_slice(&[if ink { 20 } else { x * 7 }, u8::from(ink) * 255]);
            }
        }
        encode(16, 6, png::ColorType::GrayscaleAlpha, &data)
    }

    #[test]
    fn canonical_form_is_rgba8_with_no_ancillary_chunks_and_idempotent() {
        let image = SignatureImage::canonicalize(&signature_like()).unwrap();
        assert_eq!((image.width(), image.height()), (16, 6));
        let bytes = image.as_bytes();
        // IHDR: 8-bit RGBA (color type 6), not interlaced.
        assert_eq!(&bytes[12..16], b"IHDR");
        assert_eq!(&bytes[24..29], &[8, 6, 0, 0, 0]);
        let again = SignatureImage::canonicalize(bytes).unwrap();
        assert_eq!(again, image);
        assert_eq!(again.digest(), image.digest());
        // Only IHDR, IDAT and IEND.
        let mut at = 8;
        while at < bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind = &bytes[at + 4..at + 8];
            assert!(matches!(kind, b"IHDR" | b"IDAT" | b"IEND"), "{kind:?}");
            at += 12 + len;
        }
    }

    #[test]
    fn equal_pixels_give_equal_bytes_whatever_the_input_format() {
        // The same 3×2 opaque gray image as gray, gray-alpha, RGB and RGBA, with a text
        // chunk added to one of them; transparent pixels of different colours agree too.
        let gray = [0u8, 50, 100, 150, 200, 250];
        let as_ga: Vec<u8> = gray.iter().flat_map(|&v| [v, 255]).collect();
        let as_rgb: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v]).collect();
        let as_rgba: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v, 255]).collect();
        let mut with_text = encode(3, 2, png::ColorType::Rgb, &as_rgb);
        let iend = with_text.len() - 12;
        with_text.splice(iend..iend, chunk(b"tEXt", b"Comment\0hello"));
        let digests: Vec<_> = [
            encode(3, 2, png::ColorType::Grayscale, &gray),
            encode(3, 2, png::ColorType::GrayscaleAlpha, &as_ga),
            encode(3, 2, png::ColorType::Rgb, &as_rgb),
            encode(3, 2, png::ColorType::Rgba, &as_rgba),
            with_text,
        ]
        .iter()
        .map(|png| SignatureImage::canonicalize(png).unwrap().digest())
        .collect();
        assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");

        let clear_red = encode(1, 1, png::ColorType::Rgba, &[255, 0, 0, 0]);
        let clear_blue = encode(1, 1, png::ColorType::Rgba, &[0, 0, 255, 0]);
        assert_eq!(
            SignatureImage::canonicalize(&clear_red).unwrap().digest(),
            SignatureImage::canonicalize(&clear_blue).unwrap().digest()
        );
    }

    /// The canonical bytes of a fixed image are frozen: a `png` upgrade that changes
    /// the encoder's output fails here (stored images keep their bytes; only new
    /// uploads would hash differently).
    #[test]
    fn canonical_bytes_are_frozen() {
        let image = SignatureImage::canonicalize(&signature_like()).unwrap();
        assert_eq!(
            image.digest().to_string(),
            "b37916a6d9772d4c86d7d70c5bbe507074c50f79eb1180a56cc8acf1daa082e5",
            "canonical encoding changed: {}",
            image.as_bytes().len()
        );
    }

    #[test]
    fn the_walkthrough_image_is_accepted() {
        // The 16×6 grayscale PNG of the README walkthrough and the CLI tests.
        let png = base64_decode(
            "iVBORw0KGgoAAAANSUhEUgAAABAAAAAGCAAAAADvF0E7AAAAI0lEQVR42mP4jwYYgIgBymSACDCARf/DaAZkDpxG1saAbigA4VdPsdsk5S8AAAAASUVORK5CYII=",
        );
        let image = SignatureImage::canonicalize(&png).unwrap();
        assert_eq!((image.width(), image.height()), (16, 6));
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_is_inflated() {
        // 2048×1024 RGBA 16-bit would decode to 16 MiB + filter bytes: over the limit.
        let bomb = by_hand(2048, 1024, 16, 6, &zeros_zlib(1 << 20));
        assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
        assert_eq!(problem(&bomb), ImageProblem::DecodedTooLarge);
        // A 1×1 image whose IDAT would inflate to 200 MB: only the two bytes the image
        // needs are inflated, and the rest (a payload hidden after the pixels) is not
        // in the canonical bytes.
        let bomb = by_hand(1, 1, 8, 0, &zeros_zlib(200 << 20));
        assert!(bomb.len() < SIGNATURE_IMAGE_BYTES_MAX, "{}", bomb.len());
        let started = std::time::Instant::now();
        let image = SignatureImage::canonicalize(&bomb).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let clean = encode(1, 1, png::ColorType::Grayscale, &[0]);
        assert_eq!(image, SignatureImage::canonicalize(&clean).unwrap());
    }

    #[test]
    fn hostile_structures_get_specific_problems() {
        let good = signature_like();
        // Not a PNG at all.
        assert_eq!(problem(b"GIF89a......"), ImageProblem::NotPng);
        assert_eq!(problem(b""), ImageProblem::NotPng);
        // Truncated: cut inside IDAT, and cut before IEND.
        assert_eq!(problem(&good[..good.len() / 2]), ImageProblem::Truncated);
        assert_eq!(problem(&good[..good.len() - 12]), ImageProblem::Truncated);
        assert_eq!(problem(&good[..8]), ImageProblem::Truncated);
        // A chunk length pointing far past the end.
        let mut long = good.clone();
        long[33..37].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(problem(&long), ImageProblem::Truncated);
        // A flipped bit in IDAT data: the CRC catches it.
        let mut flipped = good.clone();
        flipped[45] ^= 1;
        assert_eq!(
            problem(&flipped),
            ImageProblem::ChunkCrcMismatch {
                chunk: "IDAT".into()
            }
        );
        // Bad IHDR CRC.
        let mut header = good.clone();
        header[29] ^= 0xff;
        assert_eq!(
            problem(&header),
            ImageProblem::ChunkCrcMismatch {
                chunk: "IHDR".into()
            }
        );
        // Huge and empty dimensions.
        for (w, h) in [
            (0, 1),
            (1, 0),
            (0, 0),
            (2049, 1),
            (1, 1025),
            (u32::MAX, u32::MAX),
        ] {
            assert_eq!(
                problem(&by_hand(w, h, 8, 0, &zeros_zlib(4))),
                ImageProblem::DimensionsOutOfRange {
                    width: w,
                    height: h
                }
            );
        }
        // IDAT first.
        let mut no_header = PNG_SIGNATURE.to_vec();
        no_header.extend(chunk(b"IDAT", &zeros_zlib(2)));
        no_header.extend(chunk(b"IEND", b""));
        assert_eq!(problem(&no_header), ImageProblem::HeaderMissing);
        // Bytes after IEND.
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(problem(&trailing), ImageProblem::TrailingData);
        // Too little image data for the declared size.
        let short = by_hand(16, 16, 8, 0, &zeros_zlib(3));
        assert!(matches!(
            problem(&short),
            ImageProblem::Undecodable { .. } | ImageProblem::Truncated
        ));
        // Not zlib at all.
        let garbage = by_hand(2, 2, 8, 0, b"not a zlib stream");
        assert!(matches!(
            problem(&garbage),
            ImageProblem::Undecodable { .. }
        ));
        // An invalid bit depth for the colour type.
        assert!(matches!(
            problem(&by_hand(2, 2, 3, 6, &zeros_zlib(20))),
            ImageProblem::Undecodable { .. }
        ));
        // Animated PNGs.
        let mut animated = good.clone();
        animated.splice(33..33, chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0]));
        assert_eq!(
            problem(&animated),
            ImageProblem::Unsupported {
                what: "an animated PNG"
            }
        );
        // Too large an input.
        assert!(matches!(
            SignatureImage::canonicalize(&vec![0; SIGNATURE_IMAGE_BYTES_MAX + 1]),
            Err(Error::TooLarge { .. })
        ));
    }
}

//! Affix's PDF layer. Pure: bytes in, bytes out — no I/O, no clock (the caller passes
//! the signing time), no randomness.
//!
//! A signed PDF grows by **incremental updates**: each signature appends new and changed
//! objects, a cross-reference section and a trailer whose `/Prev` points at the previous
//! one, so the bytes an earlier signer signed are never rewritten (ISO 32000-1 §7.5.6).
//! `lopdf` reads the existing file; the update is written here, byte for byte, because
//! the signature needs offsets lopdf does not expose:
//!
//! 1. [`Pdf::parse`] checks an uploaded or generated PDF: at most [`PDF_BYTES_MAX`]
//!    bytes and [`PAGES_MAX`] pages, not encrypted, not certified with DocMDP P=1 (no
//!    changes allowed), and a readable trailer, catalog and page tree.
//! 2. [`Pdf::prepare_signature`] appends one revision: a signature dictionary
//!    (`/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached`, `/M` = the signing
//!    time) whose `/Contents` is a reserved run of hex zeros and whose `/ByteRange` is
//!    patched in place to cover the whole file except that run; a signature field and
//!    widget on the requested page (rectangle in PDF points) with an appearance
//!    stream; the page's `/Annots` and the catalog's `/AcroForm` (`/SigFlags 3`)
//!    updated; a classic cross-reference section and trailer.
//! 3. [`PreparedPdf::signed_bytes`] are the bytes the CMS signature covers (its
//!    message digest; PAdES signed attributes carry no signing-time) and
//!    [`PreparedPdf::embed`] writes the DER signature, upper-case hex padded with
//!    zeros, into the reserved run. Nothing else changes, so the byte range stays
//!    right.
//!
//! What is not here yet: visible handwritten images and seals in the appearance, the
//! DSS (B-LT) and document time-stamps (B-LTA), generating contract PDFs, and reading
//! files whose last cross-reference section is a stream (the update would be hybrid,
//! which strict validators refuse): such files are refused with a specific error.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lopdf::{Dictionary, Document, Object, ObjectId};
use sha2::{Digest as _, Sha256};

/// Largest PDF accepted.
pub const PDF_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Most pages accepted.
pub const PAGES_MAX: usize = 2_000;
/// Largest signature (DER bytes) a `/Contents` region may reserve room for.
pub const SIGNATURE_BYTES_MAX: usize = 64 * 1024;
/// Longest signature field name (bytes).
pub const FIELD_NAME_BYTES_MAX: usize = 64;

/// Width reserved for the patched `/ByteRange` array's contents (four integers of at
/// most 10 digits and their separators).
const BYTE_RANGE_WIDTH: usize = 4 * 11;

/// What is wrong with a PDF or a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The file is larger than [`PDF_BYTES_MAX`].
    #[error("the PDF is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The file does not parse as a PDF (the parser's reason).
    #[error("not a readable PDF: {0}")]
    Malformed(String),
    /// The file is encrypted (it would need a password to change).
    #[error("the PDF is encrypted; upload it without encryption")]
    Encrypted,
    /// The file is certified with DocMDP permission 1: no change is allowed, not even a
    /// signature.
    #[error("the PDF is certified to allow no changes (DocMDP P=1); no signature can be added")]
    NoChangesAllowed,
    /// The file has no pages, or more than [`PAGES_MAX`].
    #[error("the PDF has {count} pages; 1 to {max} are accepted")]
    PageCount {
        /// Pages found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The last cross-reference section is a stream (PDF 1.5 compression); an update
    /// with a classic table would be a hybrid file.
    #[error("the PDF's cross-reference section is compressed (an xref stream); not supported yet")]
    XrefStream,
    /// The page number is not in the document.
    #[error("page {page} does not exist; the PDF has {pages} pages")]
    NoSuchPage {
        /// Requested (1-based).
        page: u32,
        /// Pages in the document.
        pages: usize,
    },
    /// The rectangle is empty, inverted or not finite.
    #[error("the signature rectangle must have x1 < x2 and y1 < y2, finite, in points")]
    BadRectangle,
    /// The field name is empty, too long, or not printable ASCII without `.`.
    #[error("a signature field name is 1 to 64 printable ASCII characters without '.'")]
    BadFieldName,
    /// A field of that name exists.
    #[error("the PDF already has a field named {0:?}")]
    FieldExists(String),
    /// The reserved size is 0 or above [`SIGNATURE_BYTES_MAX`].
    #[error("room for 1 to {max} signature bytes can be reserved, not {requested}")]
    BadReservation {
        /// Requested.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// The signature is larger than the room reserved for it.
    #[error("the signature is {size} bytes; {reserved} were reserved")]
    SignatureTooLarge {
        /// Its size.
        size: usize,
        /// The room reserved.
        reserved: usize,
    },
    /// The signing time is not a PDF date `D:YYYYMMDDHHmmSSZ` (UTC).
    #[error("the signing time must be a PDF date D:YYYYMMDDHHmmSSZ")]
    BadDate,
}

/// A checked PDF: its bytes and what was read from them.
#[derive(Debug, Clone)]
pub struct Pdf {
    bytes: Vec<u8>,
    doc: Document,
    pages: BTreeMap<u32, ObjectId>,
    startxref: usize,
}

/// Where a new signature field goes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureField {
    /// The field's name (`/T`), unique in the document.
    pub name: String,
    /// The page (1-based).
    pub page: u32,
    /// `[x1, y1, x2, y2]` in PDF points from the page's lower-left corner.
    pub rect: [f32; 4],
}

/// A signature request: the field, the claimed signing time for `/M` (PDF date,
/// `D:YYYYMMDDHHmmSSZ`), and the room to reserve for the CMS signature (DER bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureRequest {
    /// The field.
    pub field: SignatureField,
    /// `/M`.
    pub signing_time: String,
    /// DER bytes reserved for the signature (the hex takes twice as many).
    pub reserved_bytes: usize,
}

/// A revision with its signature still to be filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPdf {
    bytes: Vec<u8>,
    /// Offset of `<` and one past `>` of the `/Contents` hex string.
    contents: (usize, usize),
}

impl Pdf {
    /// Reads and checks a PDF to sign: also refused when its cross-reference data is
    /// damaged ([`Error::Malformed`]).
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`], [`Error::Encrypted`],
    /// [`Error::NoChangesAllowed`], [`Error::PageCount`], [`Error::XrefStream`].
    pub fn parse(bytes: Vec<u8>) -> Result<Self, Error> {
        let startxref = Self::check_header(&bytes)?;
        // An update is appended after the last revision's end marker.
        if !ends_revision(&bytes) {
            return Err(Error::Malformed("the file does not end with %%EOF".into()));
        }
        match bytes.get(startxref..startxref + 4) {
            Some(b"xref") => {}
            Some(_) => return Err(Error::XrefStream),
            None => return Err(Error::Malformed("startxref points past the end".into())),
        }
        Self::read(bytes, startxref, false)
    }

    /// Checks a PDF uploaded as a contract's document: as [`Pdf::parse`], except that a
    /// compressed cross-reference section, and cross-reference data lopdf repairs, are
    /// accepted (signing such a file is not supported yet, but it is a readable
    /// document). Returns the page count.
    ///
    /// # Errors
    /// As [`Pdf::parse`], without [`Error::XrefStream`].
    pub fn check_upload(bytes: &[u8]) -> Result<usize, Error> {
        Ok(Self::read_leniently(bytes.to_vec())?.page_count())
    }

    /// Reads a PDF to verify its signatures ([`Pdf::embedded_signatures`]): as
    /// [`Pdf::check_upload`], leniently, since a verifier reads what others wrote. Only
    /// [`Pdf::parse`]'s strict reading leads to a signature of ours.
    ///
    /// # Errors
    /// As [`Pdf::check_upload`].
    pub fn read_leniently(bytes: Vec<u8>) -> Result<Self, Error> {
        let startxref = Self::check_header(&bytes)?;
        Self::read(bytes, startxref, true)
    }

    /// Size, header and the last `startxref`.
    fn check_header(bytes: &[u8]) -> Result<usize, Error> {
        if bytes.len() > PDF_BYTES_MAX {
            return Err(Error::TooLarge {
                size: bytes.len(),
                max: PDF_BYTES_MAX,
            });
        }
        if !bytes.starts_with(b"%PDF-") {
            return Err(Error::Malformed("no %PDF- header".into()));
        }
        last_startxref(bytes)
    }

    /// Loads the document. A file whose cross-reference data lopdf had to repair is
    /// refused unless `allow_repair`: an update chained to it with `/Prev` would point
    /// readers at the damaged section (a reader could then see other objects than the
    /// signer did).
    fn read(bytes: Vec<u8>, startxref: usize, allow_repair: bool) -> Result<Self, Error> {
        if trailer_mentions_encrypt(&bytes[startxref..]) {
            return Err(Error::Encrypted);
        }
        // To sign, the file must read as written (lopdf's strict loading: no repaired
        // cross-references, object ids where the table says): an update chained to it
        // must mean the same objects to every reader.
        let options = lopdf::LoadOptions {
            strict: !allow_repair,
            ..lopdf::LoadOptions::default()
        };
        let doc = Document::load_mem_with_options(&bytes, options)
            .map_err(|e| Error::Malformed(e.to_string()))?;
        if doc.xref_recovery.is_some() && !allow_repair {
            return Err(Error::Malformed(
                "the cross-reference data is damaged (it had to be repaired to read the file)"
                    .into(),
            ));
        }
        if doc.trailer.has(b"Encrypt") || doc.is_encrypted() {
            return Err(Error::Encrypted);
        }
        let catalog = doc
            .catalog()
            .map_err(|e| Error::Malformed(format!("catalog: {e}")))?;
        if docmdp_forbids_changes(&doc, catalog) {
            return Err(Error::NoChangesAllowed);
        }
        let pages = doc.get_pages();
        if pages.is_empty() || pages.len() > PAGES_MAX {
            return Err(Error::PageCount {
                count: pages.len(),
                max: PAGES_MAX,
            });
        }
        Ok(Self {
            bytes,
            doc,
            pages,
            startxref,
        })
    }

    /// The bytes as read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of pages.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The names of the document's signature fields (`/FT /Sig`), in `/Fields` order.
    pub fn signature_fields(&self) -> Vec<String> {
        self.fields()
            .into_iter()
            .filter_map(|id| {
                let field = self.doc.get_dictionary(id).ok()?;
                let is_sig = matches!(field.get(b"FT"), Ok(Object::Name(n)) if n == b"Sig");
                is_sig.then(|| text(field.get(b"T").ok()?))?
            })
            .collect()
    }

    fn fields(&self) -> Vec<ObjectId> {
        let Ok(catalog) = self.doc.catalog() else {
            return Vec::new();
        };
        let Some(form) = resolve_dict(&self.doc, catalog.get(b"AcroForm").ok()) else {
            return Vec::new();
        };
        let fields = match form.get(b"Fields") {
            Ok(Object::Array(a)) => a.clone(),
            Ok(Object::Reference(id)) => match self.doc.get_object(*id) {
                Ok(Object::Array(a)) => a.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        fields
            .into_iter()
            .filter_map(|f| f.as_reference().ok())
            .collect()
    }

    /// Appends a revision with an empty signature field for `request` (see the crate
    /// documentation); the signature is filled in with [`PreparedPdf::embed`].
    ///
    /// # Errors
    /// [`Error::NoSuchPage`], [`Error::BadRectangle`], [`Error::BadFieldName`],
    /// [`Error::FieldExists`], [`Error::BadReservation`], [`Error::BadDate`],
    /// [`Error::Malformed`] for a page or catalog that is not a dictionary.
    pub fn prepare_signature(&self, request: &SignatureRequest) -> Result<PreparedPdf, Error> {
        let field = &request.field;
        check_field_name(&field.name)?;
        if self.signature_fields().iter().any(|n| n == &field.name)
            || self.field_names().iter().any(|n| n == &field.name)
        {
            return Err(Error::FieldExists(field.name.clone()));
        }
        let [x1, y1, x2, y2] = field.rect;
        if !field.rect.iter().all(|v| v.is_finite()) || x1 >= x2 || y1 >= y2 {
            return Err(Error::BadRectangle);
        }
        if request.reserved_bytes == 0 || request.reserved_bytes > SIGNATURE_BYTES_MAX {
            return Err(Error::BadReservation {
                requested: request.reserved_bytes,
                max: SIGNATURE_BYTES_MAX,
            });
        }
        check_pdf_date(&request.signing_time)?;
        let page_id = *self.pages.get(&field.page).ok_or(Error::NoSuchPage {
            page: field.page,
            pages: self.pages.len(),
        })?;
        let root = self
            .doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|e| Error::Malformed(format!("trailer /Root: {e}")))?;

        // New object numbers start past the previous /Size and every id in use.
        let size = self
            .doc
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0)
            .max(self.doc.max_id + 1);
        let sig_id = (size, 0);
        let widget_id = (size + 1, 0);
        let appearance_id = (size + 2, 0);
        let mut next = size + 3;
        let mut objects: BTreeMap<ObjectId, Vec<u8>> = BTreeMap::new();

        // The widget (merged field and annotation) and its appearance.
        let (w, h) = (x2 - x1, y2 - y1);
        let mut widget = Dictionary::new();
        widget.set("Type", Object::Name(b"Annot".to_vec()));
        widget.set("Subtype", Object::Name(b"Widget".to_vec()));
        widget.set("FT", Object::Name(b"Sig".to_vec()));
        widget.set("T", Object::string_literal(field.name.as_bytes().to_vec()));
        widget.set("V", Object::Reference(sig_id));
        widget.set(
            "Rect",
            Object::Array(field.rect.iter().map(|v| Object::Real(*v)).collect()),
        );
        widget.set("P", Object::Reference(page_id));
        // Print (4) and Locked (128).
        widget.set("F", Object::Integer(132));
        let mut ap = Dictionary::new();
        ap.set("N", Object::Reference(appearance_id));
        widget.set("AP", Object::Dictionary(ap));
        objects.insert(widget_id, serialize(&Object::Dictionary(widget)));
        let drawing = format!(
            "q 0.75 0.1 0.1 RG 1 w 0.5 0.5 {} {} re S Q\n",
            number(f64::from(w) - 1.0),
            number(f64::from(h) - 1.0)
        );
        objects.insert(
            appearance_id,
            format!(
                "<< /Type /XObject /Subtype /Form /BBox [0 0 {} {}] /Resources << >> /Length {} >>\nstream\n{}\nendstream",
                number(f64::from(w)),
                number(f64::from(h)),
                drawing.len(),
                drawing
            )
            .into_bytes(),
        );

        // The page, with the widget among its annotations.
        let page = self
            .doc
            .get_dictionary(page_id)
            .map_err(|e| Error::Malformed(format!("page {}: {e}", field.page)))?
            .clone();
        match page.get(b"Annots") {
            Ok(Object::Reference(annots_id)) => {
                let mut annots = match self.doc.get_object(*annots_id) {
                    Ok(Object::Array(a)) => a.clone(),
                    _ => return Err(Error::Malformed("page /Annots is not an array".into())),
                };
                annots.push(Object::Reference(widget_id));
                objects.insert(*annots_id, serialize(&Object::Array(annots)));
            }
            other => {
                let mut annots = match other {
                    Ok(Object::Array(a)) => a.clone(),
                    Ok(_) => {
                        return Err(Error::Malformed("page /Annots is not an array".into()));
                    }
                    Err(_) => Vec::new(),
                };
                annots.push(Object::Reference(widget_id));
                let mut page = page;
                page.set("Annots", Object::Array(annots));
                objects.insert(page_id, serialize(&Object::Dictionary(page)));
            }
        }

        // The catalog's interactive form: the field listed, signatures present and
        // the document append-only (SigFlags 3).
        let catalog = self
            .doc
            .catalog()
            .map_err(|e| Error::Malformed(format!("catalog: {e}")))?
            .clone();
        let update_form = |form: &mut Dictionary,
                           objects: &mut BTreeMap<ObjectId, Vec<u8>>|
         -> Result<(), Error> {
            match form.get(b"Fields") {
                Ok(Object::Reference(fields_id)) => {
                    let mut fields = match self.doc.get_object(*fields_id) {
                        Ok(Object::Array(a)) => a.clone(),
                        _ => {
                            return Err(Error::Malformed(
                                "/AcroForm /Fields is not an array".into(),
                            ));
                        }
                    };
                    fields.push(Object::Reference(widget_id));
                    objects.insert(*fields_id, serialize(&Object::Array(fields)));
                }
                other => {
                    let mut fields = match other {
                        Ok(Object::Array(a)) => a.clone(),
                        _ => Vec::new(),
                    };
                    fields.push(Object::Reference(widget_id));
                    form.set("Fields", Object::Array(fields));
                }
            }
            form.set("SigFlags", Object::Integer(3));
            Ok(())
        };
        match catalog.get(b"AcroForm") {
            Ok(Object::Reference(form_id)) => {
                let mut form = self
                    .doc
                    .get_dictionary(*form_id)
                    .map_err(|e| Error::Malformed(format!("/AcroForm: {e}")))?
                    .clone();
                update_form(&mut form, &mut objects)?;
                objects.insert(*form_id, serialize(&Object::Dictionary(form)));
            }
            Ok(Object::Dictionary(inline)) => {
                let mut form = inline.clone();
                update_form(&mut form, &mut objects)?;
                let mut catalog = catalog.clone();
                catalog.set("AcroForm", Object::Dictionary(form));
                objects.insert(root, serialize(&Object::Dictionary(catalog)));
            }
            _ => {
                let form_id = (next, 0);
                next += 1;
                let mut form = Dictionary::new();
                update_form(&mut form, &mut objects)?;
                objects.insert(form_id, serialize(&Object::Dictionary(form)));
                let mut catalog = catalog.clone();
                catalog.set("AcroForm", Object::Reference(form_id));
                objects.insert(root, serialize(&Object::Dictionary(catalog)));
            }
        }

        // The signature dictionary, written by hand: its placeholders' offsets matter.
        let mut sig = Vec::new();
        sig.extend_from_slice(
            b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [",
        );
        sig.extend(std::iter::repeat_n(b' ', BYTE_RANGE_WIDTH));
        sig.extend_from_slice(b"] /Contents <");
        let contents_at_in_sig = sig.len() - 1;
        sig.extend(std::iter::repeat_n(b'0', 2 * request.reserved_bytes));
        sig.extend_from_slice(b"> /M ");
        sig.extend_from_slice(&serialize(&Object::string_literal(
            request.signing_time.as_bytes().to_vec(),
        )));
        sig.extend_from_slice(b" >>");

        // The revision: objects, a classic cross-reference section, the trailer.
        let mut out = self.bytes.clone();
        if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
            out.push(b'\n');
        }
        let mut offsets: BTreeMap<u32, usize> = BTreeMap::new();
        let mut contents_start = 0;
        let mut byte_range_start = 0;
        let mut all: Vec<(ObjectId, Vec<u8>)> = objects.into_iter().collect();
        all.push((sig_id, sig));
        all.sort_by_key(|(id, _)| *id);
        for (id, body) in &all {
            offsets.insert(id.0, out.len());
            out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
            if *id == sig_id {
                byte_range_start =
                    out.len() + body.iter().position(|b| *b == b'[').unwrap_or(0) + 1;
                contents_start = out.len() + contents_at_in_sig;
            }
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref_at = out.len();
        out.extend_from_slice(b"xref\n");
        let ids: Vec<u32> = offsets.keys().copied().collect();
        let mut i = 0;
        while i < ids.len() {
            let mut j = i;
            while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
                j += 1;
            }
            out.extend_from_slice(format!("{} {}\n", ids[i], j - i + 1).as_bytes());
            for id in &ids[i..=j] {
                out.extend_from_slice(format!("{:010} 00000 n \n", offsets[id]).as_bytes());
            }
            i = j + 1;
        }
        let mut trailer = Dictionary::new();
        trailer.set("Size", Object::Integer(i64::from(next.max(size + 3))));
        trailer.set("Root", Object::Reference(root));
        if let Ok(info) = self.doc.trailer.get(b"Info") {
            trailer.set("Info", info.clone());
        }
        // The file identifier, kept when it is what the standard says (two strings).
        if let Ok(Object::Array(id)) = self.doc.trailer.get(b"ID")
            && id.len() == 2
            && id.iter().all(|part| matches!(part, Object::String(..)))
        {
            trailer.set("ID", Object::Array(id.clone()));
        }
        trailer.set(
            "Prev",
            Object::Integer(i64::try_from(self.startxref).unwrap_or(i64::MAX)),
        );
        out.extend_from_slice(b"trailer\n");
        out.extend_from_slice(&serialize(&Object::Dictionary(trailer)));
        out.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());

        // The byte range: everything but the /Contents hex string (with its brackets).
        let contents_end = contents_start + 2 * request.reserved_bytes + 2;
        let range = format!(
            "0 {} {} {}",
            contents_start,
            contents_end,
            out.len() - contents_end
        );
        if range.len() > BYTE_RANGE_WIDTH {
            return Err(Error::TooLarge {
                size: out.len(),
                max: PDF_BYTES_MAX,
            });
        }
        out[byte_range_start..byte_range_start + range.len()].copy_from_slice(range.as_bytes());
        // Read back, strictly, as any reader will: the new field must be there. A file
        // whose cross-reference table names other objects than those at its offsets can
        // parse and still be read differently once updated; it is refused rather than
        // signed.
        let readable = Self::read(out.clone(), xref_at, false)
            .is_ok_and(|updated| updated.signature_fields().contains(&field.name));
        if !readable {
            return Err(Error::Malformed(
                "the cross-reference table does not match the objects (the updated file reads differently)"
                    .into(),
            ));
        }
        Ok(PreparedPdf {
            bytes: out,
            contents: (contents_start, contents_end),
        })
    }

    /// Every field name (`/T`) of the form's top-level fields.
    fn field_names(&self) -> Vec<String> {
        self.fields()
            .into_iter()
            .filter_map(|id| text(self.doc.get_dictionary(id).ok()?.get(b"T").ok()?))
            .collect()
    }
}

/// A signature found in a PDF, with what its structure says (the CMS itself is for
/// `affix-cms` to verify over [`EmbeddedSignature::signed_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedSignature {
    /// The field name.
    pub field: String,
    /// `/SubFilter` (e.g. `ETSI.CAdES.detached`).
    pub sub_filter: String,
    /// `/ByteRange`.
    pub byte_range: [usize; 4],
    /// The CMS `ContentInfo` (DER, without the zero padding).
    pub cms: Vec<u8>,
    /// Whether the signature covers the whole file (it is the last revision).
    pub covers_whole_file: bool,
    /// For an earlier signature: what later revisions changed of the signed revision's
    /// objects, if anything beyond what signing adds (a signature field, its widget and
    /// appearance, the page's `/Annots`, the form's `/Fields` and `/SigFlags`, the
    /// catalog's `/AcroForm` and `/DSS`).
    pub disallowed_change: Option<String>,
}

impl EmbeddedSignature {
    /// The bytes the signature covers in `pdf` (the two byte ranges).
    pub fn signed_bytes(&self, pdf: &[u8]) -> Vec<u8> {
        let [_, a, b, c] = self.byte_range;
        let mut out = Vec::with_capacity(a + c);
        out.extend_from_slice(&pdf[..a]);
        out.extend_from_slice(&pdf[b..b + c]);
        out
    }
}

impl Pdf {
    /// Every signature of the document's form, in `/Fields` order, with its byte range
    /// checked (it starts at 0, excludes exactly the `/Contents` hex string, ends where
    /// a revision ends) and, for earlier signatures, the later revisions compared with
    /// the signed one.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a signature dictionary or byte range that does not hold
    /// together (a signature that covers other bytes than it claims).
    pub fn embedded_signatures(&self) -> Result<Vec<EmbeddedSignature>, Error> {
        let mut out = Vec::new();
        for id in self.fields() {
            let Ok(field) = self.doc.get_dictionary(id) else {
                continue;
            };
            if !matches!(field.get(b"FT"), Ok(Object::Name(n)) if n == b"Sig") {
                continue;
            }
            let name = field.get(b"T").ok().and_then(text).unwrap_or_default();
            let Some(sig) = resolve_dict(&self.doc, field.get(b"V").ok()) else {
                continue; // an empty signature field
            };
            let bad = |why: &str| Error::Malformed(format!("signature {name:?}: {why}"));
            let range: Vec<usize> = match sig.get(b"ByteRange") {
                Ok(Object::Array(a)) => a
                    .iter()
                    .map(|v| v.as_i64().ok().and_then(|v| usize::try_from(v).ok()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("/ByteRange is not four offsets"))?,
                _ => return Err(bad("no /ByteRange")),
            };
            let [zero, a, b, c] =
                <[usize; 4]>::try_from(range).map_err(|_| bad("/ByteRange is not four offsets"))?;
            let end = b
                .checked_add(c)
                .ok_or_else(|| bad("/ByteRange overflows"))?;
            if zero != 0 || a >= b || end > self.bytes.len() {
                return Err(bad("/ByteRange does not start at 0 or runs past the file"));
            }
            // Exactly the /Contents hex string is left out.
            let hole = &self.bytes[a..b];
            if hole.len() < 2
                || hole[0] != b'<'
                || hole[hole.len() - 1] != b'>'
                || !hole[1..hole.len() - 1].iter().all(u8::is_ascii_hexdigit)
            {
                return Err(bad("the excluded range is not the /Contents hex string"));
            }
            let contents = match sig.get(b"Contents") {
                Ok(Object::String(bytes, _)) => bytes.clone(),
                _ => return Err(bad("no /Contents")),
            };
            let cms = der_prefix(&contents).ok_or_else(|| bad("/Contents is not DER"))?;
            if !ends_revision(&self.bytes[..end]) {
                return Err(bad("the byte range does not end at the end of a revision"));
            }
            let covers_whole_file = trimmed_len(&self.bytes) <= end;
            let disallowed_change = if covers_whole_file {
                None
            } else {
                self.compare_with_revision(end)?
            };
            let sub_filter = match sig.get(b"SubFilter") {
                Ok(Object::Name(n)) => String::from_utf8_lossy(n).into_owned(),
                _ => String::new(),
            };
            out.push(EmbeddedSignature {
                field: name,
                sub_filter,
                byte_range: [0, a, b, c],
                cms: cms.to_vec(),
                covers_whole_file,
                disallowed_change,
            });
        }
        Ok(out)
    }

    /// What the revisions after byte `end` changed of the objects the revision ending
    /// there held, beyond what adding signatures changes.
    fn compare_with_revision(&self, end: usize) -> Result<Option<String>, Error> {
        let signed = Document::load_mem(&self.bytes[..end])
            .map_err(|e| Error::Malformed(format!("the signed revision: {e}")))?;
        for (id, before) in &signed.objects {
            let Some(after) = self.doc.objects.get(id) else {
                return Ok(Some(format!("object {} was removed", id.0)));
            };
            if before == after || allowed_change(&signed, &self.doc, before, after) {
                continue;
            }
            return Ok(Some(format!("object {} was changed", id.0)));
        }
        Ok(None)
    }
}

/// Whether `before` → `after` is what adding a signature does to an existing object.
fn allowed_change(signed: &Document, now: &Document, before: &Object, after: &Object) -> bool {
    let without = |d: &Dictionary, keys: &[&[u8]]| {
        let mut d = d.clone();
        for k in keys {
            d.remove(k);
        }
        d
    };
    match (before, after) {
        // An array that only grew: /Annots or /Fields held in their own object; what
        // was added must be signature widgets.
        (Object::Array(a), Object::Array(b)) => {
            b.len() >= a.len()
                && b[..a.len()] == a[..]
                && b[a.len()..].iter().all(|o| is_signature_widget(now, o))
        }
        (Object::Dictionary(a), Object::Dictionary(b)) => {
            let kind = |d: &Dictionary| match d.get(b"Type") {
                Ok(Object::Name(n)) => n.clone(),
                _ => Vec::new(),
            };
            match kind(a).as_slice() {
                b"Page" => {
                    without(a, &[b"Annots"]) == without(b, &[b"Annots"])
                        && annots_only_grew(signed, now, a, b)
                }
                b"Catalog" => {
                    without(a, &[b"AcroForm", b"DSS"]) == without(b, &[b"AcroForm", b"DSS"])
                }
                // The interactive form dictionary has no /Type; it holds /Fields.
                _ if a.has(b"Fields") || b.has(b"Fields") => {
                    without(a, &[b"Fields", b"SigFlags"]) == without(b, &[b"Fields", b"SigFlags"])
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// A page's `/Annots` (inline or by reference) only grew, by signature widgets.
fn annots_only_grew(signed: &Document, now: &Document, a: &Dictionary, b: &Dictionary) -> bool {
    let list = |doc: &Document, d: &Dictionary| match d.get(b"Annots") {
        Ok(Object::Array(x)) => Some(x.clone()),
        Ok(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Array(x)) => Some(x.clone()),
            _ => None,
        },
        Err(_) => Some(Vec::new()),
        _ => None,
    };
    let (Some(before), Some(after)) = (list(signed, a), list(now, b)) else {
        return false;
    };
    after.len() >= before.len()
        && after[..before.len()] == before[..]
        && after[before.len()..]
            .iter()
            .all(|o| is_signature_widget(now, o))
}

fn is_signature_widget(doc: &Document, object: &Object) -> bool {
    resolve_dict(doc, Some(object)).is_some_and(|d| {
        matches!(d.get(b"Subtype"), Ok(Object::Name(n)) if n == b"Widget")
            && matches!(d.get(b"FT"), Ok(Object::Name(n)) if n == b"Sig")
    })
}

/// The bytes of the DER TLV at the start of `bytes` (the zero padding after it cut).
fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first = *bytes.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for byte in bytes.get(2..2 + n)? {
            len = (len << 8) | usize::from(*byte);
        }
        (len, 2 + n)
    };
    bytes.get(..header.checked_add(len)?)
}

/// `bytes` without trailing end-of-line characters.
fn trimmed_len(bytes: &[u8]) -> usize {
    bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| matches!(b, b'\r' | b'\n' | b' '))
            .count()
}

/// Whether `bytes` end with `%%EOF` (and end-of-line characters).
fn ends_revision(bytes: &[u8]) -> bool {
    bytes[..trimmed_len(bytes)].ends_with(b"%%EOF")
}

impl PreparedPdf {
    /// The `/ByteRange`: `[0, a, b, len - b]`.
    pub fn byte_range(&self) -> [usize; 4] {
        let (a, b) = self.contents;
        [0, a, b, self.bytes.len() - b]
    }

    /// The bytes the signature covers: the file without the `/Contents` hex string.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let (a, b) = self.contents;
        let mut out = Vec::with_capacity(self.bytes.len() - (b - a));
        out.extend_from_slice(&self.bytes[..a]);
        out.extend_from_slice(&self.bytes[b..]);
        out
    }

    /// SHA-256 of [`Self::signed_bytes`]: the CMS message digest.
    pub fn digest(&self) -> [u8; 32] {
        let (a, b) = self.contents;
        let mut h = Sha256::new();
        h.update(&self.bytes[..a]);
        h.update(&self.bytes[b..]);
        h.finalize().into()
    }

    /// The revision with the placeholder still in it.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Writes the DER signature into the reserved `/Contents` (upper-case hex, padded
    /// with zeros) and returns the signed file.
    ///
    /// # Errors
    /// [`Error::SignatureTooLarge`].
    pub fn embed(self, signature_der: &[u8]) -> Result<Vec<u8>, Error> {
        let (a, b) = self.contents;
        let room = b - a - 2;
        if 2 * signature_der.len() > room {
            return Err(Error::SignatureTooLarge {
                size: signature_der.len(),
                reserved: room / 2,
            });
        }
        let mut out = self.bytes;
        let mut hex = String::with_capacity(2 * signature_der.len());
        for byte in signature_der {
            let _ = write!(hex, "{byte:02X}");
        }
        out[a + 1..a + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(out)
    }
}

/// The offset after the last `startxref`.
fn last_startxref(bytes: &[u8]) -> Result<usize, Error> {
    let tail_from = bytes.len().saturating_sub(2048);
    let tail = &bytes[tail_from..];
    let at = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| Error::Malformed("no startxref".into()))?;
    let rest = &tail[at + 9..];
    let digits: Vec<u8> = rest
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse::<usize>().ok())
        .filter(|offset| *offset < bytes.len())
        .ok_or_else(|| Error::Malformed("startxref is not an offset in the file".into()))
}

/// Whether the classic trailer after `xref_section` names `/Encrypt`.
fn trailer_mentions_encrypt(xref_section: &[u8]) -> bool {
    let Some(at) = xref_section.windows(7).position(|w| w == b"trailer") else {
        // A cross-reference stream: its dictionary is the trailer.
        let end = xref_section
            .windows(6)
            .position(|w| w == b"stream")
            .unwrap_or(xref_section.len());
        return xref_section[..end].windows(8).any(|w| w == b"/Encrypt");
    };
    let end = xref_section[at..]
        .windows(9)
        .position(|w| w == b"startxref")
        .map_or(xref_section.len(), |e| at + e);
    xref_section[at..end].windows(8).any(|w| w == b"/Encrypt")
}

/// Whether the catalog's `/Perms /DocMDP` signature sets permission 1.
fn docmdp_forbids_changes(doc: &Document, catalog: &Dictionary) -> bool {
    let Some(perms) = resolve_dict(doc, catalog.get(b"Perms").ok()) else {
        return false;
    };
    let Some(sig) = resolve_dict(doc, perms.get(b"DocMDP").ok()) else {
        return false;
    };
    let references = match sig.get(b"Reference") {
        Ok(Object::Array(a)) => a.clone(),
        Ok(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Array(a)) => a.clone(),
            _ => return false,
        },
        _ => return false,
    };
    references.iter().any(|r| {
        let Some(r) = resolve_dict(doc, Some(r)) else {
            return false;
        };
        let Some(params) = resolve_dict(doc, r.get(b"TransformParams").ok()) else {
            return false;
        };
        matches!(params.get(b"P"), Ok(Object::Integer(1)))
    })
}

fn resolve_dict<'a>(doc: &'a Document, object: Option<&'a Object>) -> Option<&'a Dictionary> {
    match object? {
        Object::Dictionary(d) => Some(d),
        Object::Reference(id) => doc.get_dictionary(*id).ok(),
        _ => None,
    }
}

fn text(object: &Object) -> Option<String> {
    match object {
        Object::String(bytes, _) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

fn check_field_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= FIELD_NAME_BYTES_MAX
        && name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'.');
    ok.then_some(()).ok_or(Error::BadFieldName)
}

/// `D:YYYYMMDDHHmmSSZ`.
fn check_pdf_date(date: &str) -> Result<(), Error> {
    let b = date.as_bytes();
    let ok = b.len() == 17
        && date.starts_with("D:")
        && b[2..16].iter().all(u8::is_ascii_digit)
        && b[16] == b'Z';
    ok.then_some(()).ok_or(Error::BadDate)
}

/// A number as PDF writes it: no exponent, at most 4 decimals.
fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// Serializes a PDF object (ISO 32000-1 §7.3). Strings are written in hex, names with
/// `#xx` escapes for anything but regular printable characters.
fn serialize(object: &Object) -> Vec<u8> {
    let mut out = Vec::new();
    write_object(&mut out, object);
    out
}

fn write_object(out: &mut Vec<u8>, object: &Object) {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(number(f64::from(*r)).as_bytes()),
        Object::Name(name) => write_name(out, name),
        Object::String(bytes, _) => {
            out.push(b'<');
            for byte in bytes {
                out.extend_from_slice(format!("{byte:02X}").as_bytes());
            }
            out.push(b'>');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                write_object(out, item);
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => write_dictionary(out, dict),
        Object::Stream(stream) => {
            let mut dict = stream.dict.clone();
            dict.set(
                "Length",
                Object::Integer(i64::try_from(stream.content.len()).unwrap_or(i64::MAX)),
            );
            write_dictionary(out, &dict);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&stream.content);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Reference((id, generation)) => {
            out.extend_from_slice(format!("{id} {generation} R").as_bytes());
        }
    }
}

fn write_dictionary(out: &mut Vec<u8>, dict: &Dictionary) {
    out.extend_from_slice(b"<<");
    for (key, value) in dict.iter() {
        out.push(b' ');
        write_name(out, key);
        out.push(b' ');
        write_object(out, value);
    }
    out.extend_from_slice(b" >>");
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &byte in name {
        let regular = (0x21..0x7f).contains(&byte) && !b"#()<>[]{}/%".contains(&byte);
        if regular {
            out.push(byte);
        } else {
            out.extend_from_slice(format!("#{byte:02X}").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_written_as_pdf_reads_them() {
        let mut out = Vec::new();
        write_name(&mut out, b"A B#(x)");
        assert_eq!(out, b"/A#20B#23#28x#29");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(1e-7), "0");
    }

    #[test]
    fn dates_and_field_names_are_checked() {
        assert!(check_pdf_date("D:20261207120000Z").is_ok());
        assert_eq!(check_pdf_date("D:2026120712000Z"), Err(Error::BadDate));
        assert_eq!(check_pdf_date("20261207120000Z"), Err(Error::BadDate));
        assert!(check_field_name("party-1").is_ok());
        assert_eq!(check_field_name("a.b"), Err(Error::BadFieldName));
        assert_eq!(check_field_name(""), Err(Error::BadFieldName));
    }
}

//! Text encodings: detecting the input's, and converting between the file's bytes, the
//! bytes the CSV parser sees, and the output's bytes.
//!
//! UTF-8 and CP932 files are parsed as they are, so rows we do not touch are written back
//! byte for byte (CP932 is safe to parse raw with `,`, `\t` and `;`: its trail bytes never
//! fall below 0x40). UTF-16, and CP932 with a `|` delimiter (0x7C can be a trail byte), are
//! converted to UTF-8 first by [`Transcoder`], which marks each invalid sequence with a
//! 0xFF byte instead of U+FFFD, so that the row is still caught as an encoding error.

use std::borrow::Cow;
use std::io::{self, Read};

use encoding_rs::{DecoderResult, SHIFT_JIS, UTF_16BE, UTF_16LE};

/// A file encoding listclean reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Windows-31J, what Excel on Japanese Windows saves as "CSV". Decoded with the
    /// WHATWG Shift_JIS table, which is CP932 (0x817C is U+FF0D, not U+2212).
    Cp932,
}

/// The encoding of the bytes inside parsed records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellEncoding {
    Utf8,
    Cp932,
}

impl Encoding {
    /// Parses a name given on the command line.
    pub fn from_name(name: &str) -> Option<Encoding> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        Some(match name.as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "utf-8-bom" | "utf8-bom" | "utf-8-sig" => Encoding::Utf8Bom,
            "utf-16" | "utf-16le" | "utf16" | "utf16le" => Encoding::Utf16Le,
            "utf-16be" | "utf16be" => Encoding::Utf16Be,
            "cp932" | "windows-31j" | "shift-jis" | "sjis" | "ms932" => Encoding::Cp932,
            _ => return None,
        })
    }

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Cp932 => "cp932",
        }
    }

    /// The byte order mark that starts a file in this encoding.
    pub fn bom(self) -> &'static [u8] {
        match self {
            Encoding::Utf8Bom => b"\xEF\xBB\xBF",
            Encoding::Utf16Le => b"\xFF\xFE",
            Encoding::Utf16Be => b"\xFE\xFF",
            Encoding::Utf8 | Encoding::Cp932 => b"",
        }
    }

    /// The encoding the parser sees when reading a file in this encoding with `delimiter`.
    pub fn cell_encoding(self, delimiter: u8) -> CellEncoding {
        match self {
            Encoding::Cp932 if delimiter < 0x40 => CellEncoding::Cp932,
            _ => CellEncoding::Utf8,
        }
    }

    fn encoding_rs(self) -> &'static encoding_rs::Encoding {
        match self {
            Encoding::Utf8 | Encoding::Utf8Bom => encoding_rs::UTF_8,
            Encoding::Utf16Le => UTF_16LE,
            Encoding::Utf16Be => UTF_16BE,
            Encoding::Cp932 => SHIFT_JIS,
        }
    }
}

/// Guesses the encoding of a file from its first bytes.
///
/// A BOM decides. Without one: UTF-16 when the sample's NUL bytes nearly all fall on
/// every other byte and it decodes as that UTF-16 (a BOM-less "Unicode text"), else UTF-8
/// or CP932 as [`utf8_or_cp932`] tells.
pub fn detect(sample: &[u8]) -> Encoding {
    for encoding in [Encoding::Utf8Bom, Encoding::Utf16Le, Encoding::Utf16Be] {
        if sample.starts_with(encoding.bom()) {
            return encoding;
        }
    }
    if let Some(encoding) = bomless_utf16(sample) {
        return encoding;
    }
    utf8_or_cp932(sample)
}

/// Tells UTF-8 from CP932 by a sample of bytes, which need not start the file (a window
/// from the middle of it, say).
///
/// UTF-8 when at least nine in ten of the sample's non-ASCII bytes are in valid UTF-8
/// sequences (a sequence cut at the end of the sample counts for neither side), else
/// CP932 when it has fewer invalid sequences than UTF-8.
///
/// The share, not a count of errors, decides because the CP932 decoder reads most UTF-8
/// Japanese without an error, so one CP932 row in a UTF-8 file (two exports joined with
/// `cat`) must not outvote the rest: the file is UTF-8 and that row is rejected as an
/// encoding error. CP932 text is valid UTF-8 only by chance: in the Japanese samples and
/// test data here one non-ASCII byte in twenty to one in eight is in such a sequence, in
/// kana-heavy rows up to one in three, in random kana under half.
pub fn utf8_or_cp932(sample: &[u8]) -> Encoding {
    let (valid, invalid) = non_ascii_utf8(sample);
    if invalid * 10 <= valid + invalid || utf8_errors(sample) <= decode_errors(sample, SHIFT_JIS) {
        Encoding::Utf8
    } else {
        Encoding::Cp932
    }
}

/// How much of the input [`first_non_ascii`] reads at a time: large enough that each
/// system call and each look at a chunk (a word-at-a-time `is_ascii`) cost next to
/// nothing per byte, small enough that the chunk stays in the CPU's cache as the kernel
/// copies into it. Measured on a 180 MB file: 64 KiB scans it in 20 to 35 ms; 128 KiB
/// and 1 MiB chunks took three to four times as long.
const SCAN_CHUNK: usize = 64 << 10;

/// Reads `input` until its first byte that is not ASCII and returns up to `window` bytes
/// from there; `None` when the input is ASCII to its end.
///
/// This is for a file whose first bytes (the detection sample) are plain ASCII: its
/// encoding only shows further on, as in a large list whose romanised names come first.
/// The input is read in chunks and never held whole.
///
/// # Errors
/// An I/O error from `input`.
pub fn first_non_ascii(mut input: impl Read, window: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0; SCAN_CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf[..n].is_ascii() {
            continue;
        }
        let at = buf[..n].iter().position(|b| !b.is_ascii()).unwrap_or(n);
        let mut found = buf[at..n.min(at.saturating_add(window))].to_vec();
        let more = window.saturating_sub(found.len()) as u64;
        input.take(more).read_to_end(&mut found)?;
        return Ok(Some(found));
    }
}

/// UTF-16 without a BOM, as Excel's "Unicode text" can be, in either byte order.
///
/// UTF-8 and CP932 text has no NUL bytes, while UTF-16 CSV has many: its delimiters, line
/// breaks, digits and addresses are ASCII, whose high byte is zero. So NULs mostly at odd
/// offsets mean little-endian and mostly at even ones big-endian; the few on the other
/// side come from characters U+xx00 such as U+3000 (the ideographic space) and 一. The
/// sample must also decode as that UTF-16, which binary junk does not; one invalid
/// sequence in a thousand code units is let through, as its row is rejected later.
fn bomless_utf16(sample: &[u8]) -> Option<Encoding> {
    let units = sample.len() / 2;
    if units < 8 {
        return None;
    }
    let nuls_at = |offset: usize| {
        sample
            .iter()
            .skip(offset)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (nuls_at(0), nuls_at(1));
    let (encoding, high, low) = if odd >= even {
        (Encoding::Utf16Le, odd, even)
    } else {
        (Encoding::Utf16Be, even, odd)
    };
    let nuls_fit = high * 16 >= units && low * 4 <= high;
    (nuls_fit && decode_errors(sample, encoding.encoding_rs()) * 1000 <= units).then_some(encoding)
}

/// How many of `bytes`' non-ASCII bytes are in valid UTF-8 sequences, and how many not.
/// A sequence cut by the end of `bytes` counts for neither.
fn non_ascii_utf8(mut bytes: &[u8]) -> (usize, usize) {
    let non_ascii = |bytes: &[u8]| bytes.iter().filter(|b| !b.is_ascii()).count();
    let (mut valid, mut invalid) = (0, 0);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return (valid + non_ascii(bytes), invalid),
            Err(e) => {
                valid += non_ascii(&bytes[..e.valid_up_to()]);
                match e.error_len() {
                    None => return (valid, invalid),
                    // The bytes of an invalid sequence are never ASCII.
                    Some(len) => {
                        invalid += len;
                        bytes = &bytes[e.valid_up_to() + len..];
                    }
                }
            }
        }
    }
}

fn utf8_errors(mut bytes: &[u8]) -> usize {
    let mut errors = 0;
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return errors,
            Err(e) => match e.error_len() {
                None => return errors,
                Some(len) => {
                    errors += 1;
                    bytes = &bytes[e.valid_up_to() + len..];
                }
            },
        }
    }
}

/// How many invalid sequences `bytes` holds in `encoding`; a sequence cut by the end of
/// `bytes` is not one.
fn decode_errors(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> usize {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = vec![0u8; 64 * 1024];
    let (mut errors, mut rest) = (0, bytes);
    loop {
        let (result, read, _) = decoder.decode_to_utf8_without_replacement(rest, &mut out, false);
        rest = &rest[read..];
        match result {
            DecoderResult::InputEmpty => return errors,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => errors += 1,
        }
    }
}

/// Decodes a cell for checking. `None` when it holds a sequence invalid in the encoding
/// (including the 0xFF marks left by [`Transcoder`]).
pub fn decode_cell(bytes: &[u8], encoding: CellEncoding) -> Option<Cow<'_, str>> {
    match encoding {
        CellEncoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        CellEncoding::Cp932 if bytes.is_ascii() => {
            std::str::from_utf8(bytes).ok().map(Cow::Borrowed)
        }
        CellEncoding::Cp932 => SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes),
    }
}

/// Whether a cell is valid in the encoding, without decoding it into a new string.
pub fn is_valid_cell(bytes: &[u8], encoding: CellEncoding) -> bool {
    if bytes.is_ascii() {
        return true;
    }
    match encoding {
        CellEncoding::Utf8 => std::str::from_utf8(bytes).is_ok(),
        CellEncoding::Cp932 => {
            let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
            let mut out = [0u8; 1024];
            let mut rest = bytes;
            loop {
                let (result, read, _) =
                    decoder.decode_to_utf8_without_replacement(rest, &mut out, true);
                rest = &rest[read..];
                match result {
                    DecoderResult::InputEmpty => return true,
                    DecoderResult::OutputFull => {}
                    DecoderResult::Malformed(..) => return false,
                }
            }
        }
    }
}

/// Encodes text (an appended column such as a Japanese `reject_detail`) into the cells'
/// encoding.
pub fn encode_cell(text: &str, encoding: CellEncoding) -> Cow<'_, [u8]> {
    match encoding {
        CellEncoding::Utf8 => Cow::Borrowed(text.as_bytes()),
        CellEncoding::Cp932 => SHIFT_JIS.encode(text).0,
    }
}

/// Converts a block of output written in the cells' encoding into the output encoding,
/// appending to `out`. The BOM is not written here.
///
/// Characters CP932 cannot hold become HTML numeric references (`&#128512;`): that is what
/// the WHATWG encoder does, and it keeps the information a `?` would lose. Returns whether
/// there was such a character, so that the run can say so ([`first_unmappable`]).
pub fn convert(bytes: &[u8], from: CellEncoding, to: Encoding, out: &mut Vec<u8>) -> bool {
    let text: Cow<'_, str> = match (from, to) {
        (CellEncoding::Utf8, Encoding::Utf8 | Encoding::Utf8Bom)
        | (CellEncoding::Cp932, Encoding::Cp932) => {
            out.extend_from_slice(bytes);
            return false;
        }
        (CellEncoding::Utf8, _) => String::from_utf8_lossy(bytes),
        (CellEncoding::Cp932, _) => SHIFT_JIS.decode_without_bom_handling(bytes).0,
    };
    match to {
        Encoding::Utf8 | Encoding::Utf8Bom => out.extend_from_slice(text.as_bytes()),
        Encoding::Cp932 => {
            let (encoded, _, unmappable) = SHIFT_JIS.encode(&text);
            out.extend_from_slice(&encoded);
            return unmappable;
        }
        Encoding::Utf16Le => out.extend(text.encode_utf16().flat_map(u16::to_le_bytes)),
        Encoding::Utf16Be => out.extend(text.encode_utf16().flat_map(u16::to_be_bytes)),
    }
    false
}

/// The first character of UTF-8 `bytes` that CP932 cannot hold, if any.
pub fn first_unmappable(bytes: &[u8]) -> Option<char> {
    let mut buf = [0; 4];
    String::from_utf8_lossy(bytes)
        .chars()
        .find(|c| SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2)
}

/// A reader that converts a byte stream (after its BOM) to UTF-8, writing a 0xFF byte
/// (never valid in UTF-8) for each invalid input sequence so that the row holding it is
/// rejected as an encoding error rather than silently given a U+FFFD.
pub struct Transcoder<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    eof: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    done: bool,
}

const BUFFER: usize = 64 * 1024;

impl<R: Read> Transcoder<R> {
    pub fn new(inner: R, encoding: Encoding) -> Transcoder<R> {
        Transcoder {
            inner,
            decoder: encoding.encoding_rs().new_decoder_without_bom_handling(),
            input: vec![0; BUFFER],
            in_start: 0,
            in_end: 0,
            eof: false,
            output: vec![0; BUFFER * 3 + 16],
            out_start: 0,
            out_end: 0,
            done: false,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.in_start > 0 {
            self.input.copy_within(self.in_start..self.in_end, 0);
            self.in_end -= self.in_start;
            self.in_start = 0;
        }
        while !self.eof && self.in_end < self.input.len() {
            match self.inner.read(&mut self.input[self.in_end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.in_end += n;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_start == self.out_end {
            if self.done {
                return Ok(0);
            }
            if self.in_start == self.in_end || !self.eof {
                self.fill()?;
            }
            let spare = self.output.len() - 1;
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.output[..spare],
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::Malformed(..) => {
                    self.output[written] = 0xFF;
                    self.out_end += 1;
                }
                DecoderResult::InputEmpty if self.eof => self.done = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            }
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcode(bytes: &[u8], encoding: Encoding) -> Vec<u8> {
        let mut out = Vec::new();
        Transcoder::new(bytes, encoding)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn detects() {
        assert_eq!(detect(b"\xEF\xBB\xBFa,b"), Encoding::Utf8Bom);
        assert_eq!(detect(b"\xFF\xFEa\0,\0b\0"), Encoding::Utf16Le);
        assert_eq!(detect("id,メール\n".as_bytes()), Encoding::Utf8);
        assert_eq!(
            detect(
                &SHIFT_JIS
                    .encode("id,メールアドレス\r\n1,ｔａｒｏ＠x.jp\r\n")
                    .0
            ),
            Encoding::Cp932
        );
        assert_eq!(
            detect(
                &"id,email\na,b\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<_>>()
            ),
            Encoding::Utf16Le
        );
        // A multi-byte character cut by the end of the sample is still UTF-8.
        assert_eq!(detect(&"メール".as_bytes()[..7]), Encoding::Utf8);
    }

    fn utf16(text: &str, to_bytes: fn(u16) -> [u8; 2]) -> Vec<u8> {
        text.encode_utf16().flat_map(to_bytes).collect()
    }

    /// A Japanese list: names with kana, kanji, the ideographic space and 一 (U+4E00).
    fn japanese_rows(rows: usize) -> String {
        let mut text = String::from("氏名\tメールアドレス\t備考\r\n");
        for i in 0..rows {
            text += &format!("さとう　はなこ{i}\thanako{i}@bee.co.jp\tごれんらくください\r\n");
            text += &format!("一ノ瀬　紀子{i}\tnoriko{i}@acme.co.jp\t最新のごあんない\r\n");
        }
        text
    }

    #[test]
    fn a_stray_cp932_row_leaves_a_utf8_file_utf8() {
        let mut rows = String::from("氏名,メールアドレス\r\n");
        for i in 0..50 {
            rows += &format!("山田{i}号,u{i}@acme.co.jp\r\n");
        }
        let joined = [
            rows.as_bytes(),
            &SHIFT_JIS.encode("佐藤,sato@bee.co.jp\r\n").0,
        ]
        .concat();
        assert!(utf8_errors(&joined) > decode_errors(&joined, SHIFT_JIS));
        assert_eq!(detect(&joined), Encoding::Utf8);
        assert_eq!(utf8_or_cp932(&joined), Encoding::Utf8);
    }

    #[test]
    fn cp932_with_pairs_valid_in_utf8_stays_cp932() {
        let cp932 = SHIFT_JIS.encode(&japanese_rows(20)).0.into_owned();
        let (valid, invalid) = non_ascii_utf8(&cp932);
        assert!(valid > 0 && invalid > valid, "{valid} {invalid}");
        assert_eq!(detect(&cp932), Encoding::Cp932);
        // The kana-heaviest row alone: 9 of its 31 non-ASCII bytes are valid UTF-8.
        let row = SHIFT_JIS
            .encode("さとう　はなこ,hanako@bee.co.jp,ごれんらくください")
            .0;
        assert_eq!(detect(&row), Encoding::Cp932);
    }

    #[test]
    fn a_file_mixed_in_earnest_goes_by_its_errors() {
        // A third of the rows in CP932 is more than a few bad rows: the share of valid
        // UTF-8 does not decide, and the CP932 decoder, which reads most UTF-8 without an
        // error, wins.
        let utf8 = japanese_rows(20);
        let cp932 = SHIFT_JIS.encode(&japanese_rows(10)).0.into_owned();
        let mixed = [utf8.as_bytes(), &cp932].concat();
        let (valid, invalid) = non_ascii_utf8(&mixed);
        assert!(invalid * 10 > valid + invalid && valid > invalid);
        assert_eq!(detect(&mixed), Encoding::Cp932);
        // Three CP932 rows among forty-four are a few bad rows of a UTF-8 file.
        let cp932 = SHIFT_JIS.encode(&japanese_rows(1)).0.into_owned();
        let mostly = [utf8.as_bytes(), &cp932].concat();
        assert_eq!(detect(&mostly), Encoding::Utf8);
    }

    #[test]
    fn detects_japanese_utf16_without_a_bom() {
        let text =
            "氏名\tメールアドレス\r\n山田太郎\ttaro@acme.co.jp\r\n佐藤花子\thanako@bee.co.jp\r\n";
        assert_eq!(detect(&utf16(text, u16::to_le_bytes)), Encoding::Utf16Le);
        assert_eq!(detect(&utf16(text, u16::to_be_bytes)), Encoding::Utf16Be);
        // U+3000 and 一 put NULs on the other side too.
        let rows = japanese_rows(50);
        assert_eq!(detect(&utf16(&rows, u16::to_le_bytes)), Encoding::Utf16Le);
        assert_eq!(detect(&utf16(&rows, u16::to_be_bytes)), Encoding::Utf16Be);
        // A sample cut inside a surrogate pair.
        let cut = utf16(&format!("{rows}🍣"), u16::to_le_bytes);
        assert_eq!(detect(&cut[..cut.len() - 1]), Encoding::Utf16Le);
    }

    #[test]
    fn nul_bytes_alone_do_not_make_utf16() {
        // A stray NUL in UTF-8 or CP932 text.
        let utf8 = japanese_rows(5).replacen('\t', "\0", 1);
        assert_eq!(detect(utf8.as_bytes()), Encoding::Utf8);
        let mut cp932 = SHIFT_JIS.encode(&japanese_rows(5)).0.into_owned();
        let tab = cp932.iter().position(|&b| b == b'\t').unwrap();
        cp932[tab] = 0;
        assert_eq!(detect(&cp932), Encoding::Cp932);
        // NULs on every other byte, but lone surrogates between them.
        assert_eq!(bomless_utf16(&b"a\0\x01\xDC".repeat(100)), None);
    }

    #[test]
    fn finds_the_first_non_ascii_bytes_past_the_sample() {
        let ascii = "user1,user1@acme.jp,ok\r\n".repeat(100_000);
        let late = [
            ascii.as_bytes(),
            &SHIFT_JIS.encode("山田,y@acme.jp,日本語メモ\r\n").0,
        ]
        .concat();
        let window = first_non_ascii(&late[..], 1 << 20).unwrap().unwrap();
        assert_eq!(
            window,
            SHIFT_JIS.encode("山田,y@acme.jp,日本語メモ\r\n").0.as_ref()
        );
        assert_eq!(utf8_or_cp932(&window), Encoding::Cp932);
        // A window is cut at its size.
        let window = first_non_ascii(&late[..], 3).unwrap().unwrap();
        assert_eq!(window, SHIFT_JIS.encode("山田").0[..3]);
        let utf8 = [ascii.as_bytes(), "山田,y@acme.jp\n".as_bytes()].concat();
        let window = first_non_ascii(&utf8[..], 1 << 20).unwrap().unwrap();
        assert_eq!(utf8_or_cp932(&window), Encoding::Utf8);
        assert_eq!(first_non_ascii(ascii.as_bytes(), 1 << 20).unwrap(), None);
        assert_eq!(first_non_ascii(&b""[..], 1 << 20).unwrap(), None);
    }

    #[test]
    fn validity_without_decoding() {
        assert!(is_valid_cell("山田".as_bytes(), CellEncoding::Utf8));
        assert!(!is_valid_cell(b"\xE5\xB1", CellEncoding::Utf8));
        assert!(is_valid_cell(
            &SHIFT_JIS.encode(&"山田".repeat(600)).0,
            CellEncoding::Cp932
        ));
        assert!(!is_valid_cell(b"ab\x82", CellEncoding::Cp932));
    }

    #[test]
    fn cp932_is_windows_31j() {
        // 0x817C is the full-width hyphen-minus in CP932 (U+2212 in JIS tables).
        assert_eq!(
            decode_cell(b"yamada\x81\x7ctaro", CellEncoding::Cp932).unwrap(),
            "yamada－taro"
        );
        assert_eq!(decode_cell(b"\x81", CellEncoding::Cp932), None);
    }

    #[test]
    fn transcoder_marks_invalid_sequences() {
        let utf16: Vec<u8> = "a,ｂ\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(transcode(&utf16, Encoding::Utf16Le), "a,ｂ\n".as_bytes());
        // A lone surrogate.
        assert_eq!(transcode(b"a\0\x00\xD8b\0", Encoding::Utf16Le), b"a\xFFb");
        let big: Vec<u8> = "行"
            .repeat(100_000)
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            transcode(&big, Encoding::Utf16Be),
            "行".repeat(100_000).as_bytes()
        );
    }

    #[test]
    fn converts_between_encodings() {
        let mut out = Vec::new();
        convert(
            "メール,a\r\n".as_bytes(),
            CellEncoding::Utf8,
            Encoding::Cp932,
            &mut out,
        );
        assert_eq!(out, SHIFT_JIS.encode("メール,a\r\n").0.as_ref());
        let mut lossy = Vec::new();
        let text = "Müller,café 🍣".as_bytes();
        assert!(convert(
            text,
            CellEncoding::Utf8,
            Encoding::Cp932,
            &mut lossy
        ));
        assert_eq!(first_unmappable(text), Some('ü'));
        assert_eq!(lossy, b"M&#252;ller,caf&#233; &#127843;");
        let mut back = Vec::new();
        convert(&out, CellEncoding::Cp932, Encoding::Utf16Le, &mut back);
        assert_eq!(
            back,
            "メール,a\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
        );
    }
}

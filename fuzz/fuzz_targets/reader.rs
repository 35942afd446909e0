//! The row reader on any bytes: encoding detection, transcoding and record parsing never
//! panic, every record's fields are within its raw bytes' budget, and lines only grow.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use listclean::read::encoding::{self, Transcoder};
use listclean::read::records::{RecordReader, Records};

fuzz_target!(|data: &[u8]| {
    let encoding = encoding::detect(data);
    let body = data.strip_prefix(encoding.bom()).unwrap_or(data);
    let mut text = Vec::new();
    Transcoder::new(body, encoding).read_to_end(&mut text).expect("reading from memory");
    for delimiter in [b',', b'\t', b';', b'|'] {
        let mut reader = RecordReader::new(text.as_slice(), delimiter, 512);
        let mut records = Records::default();
        let mut last_line = 0;
        while reader.read(&mut records, 7).expect("reading from memory") > 0 {
            for record in records.iter() {
                assert!(record.line >= last_line.max(1));
                last_line = record.line;
                let fields: usize = record.iter().map(<[u8]>::len).sum();
                assert!(record.too_large || fields <= record.raw().len());
            }
            records.clear();
        }
    }
});

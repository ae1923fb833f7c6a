//! Hostile files for the import tests, built here rather than stored.

/// A workbook whose one sheet inflates to `mb` megabytes of spaces from about `mb` KB: one
/// megabyte deflated once (ending on a byte boundary), repeated, then a final empty block.
/// 1,024 gives the 1 MB file that inflates to 1 GB.
pub fn zip_bomb(mb: usize) -> Vec<u8> {
    const MB: usize = 1 << 20;
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut block = Vec::with_capacity(MB);
    c.compress_vec(&vec![b' '; MB], &mut block, flate2::FlushCompress::Sync)
        .unwrap();
    let mut data = Vec::new();
    for _ in 0..mb {
        data.extend_from_slice(&block);
    }
    data.extend_from_slice(&[0x03, 0x00]); // final, fixed Huffman, end of block
    let mut crc = crc32fast::Hasher::new();
    let spaces = vec![b' '; MB];
    for _ in 0..mb {
        crc.update(&spaces);
    }
    let (crc, name) = (crc.finalize(), b"xl/worksheets/sheet1.xml");
    let (csize, usize_) = (data.len() as u32, (mb * MB) as u32);
    let mut out = Vec::new();
    let u16le = |v: u16| v.to_le_bytes();
    let u32le = |v: u32| v.to_le_bytes();
    // Local header, data, central directory, end record.
    for part in [
        &u32le(0x0403_4b50)[..],
        &u16le(20),
        &u16le(0),
        &u16le(8),
        &u16le(0),
        &u16le(0),
    ] {
        out.extend_from_slice(part);
    }
    for part in [
        &u32le(crc)[..],
        &u32le(csize),
        &u32le(usize_),
        &u16le(name.len() as u16),
        &u16le(0),
    ] {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(name);
    out.extend_from_slice(&data);
    let cd = out.len() as u32;
    for part in [
        &u32le(0x0201_4b50)[..],
        &u16le(20),
        &u16le(20),
        &u16le(0),
        &u16le(8),
        &u16le(0),
        &u16le(0),
    ] {
        out.extend_from_slice(part);
    }
    for part in [
        &u32le(crc)[..],
        &u32le(csize),
        &u32le(usize_),
        &u16le(name.len() as u16),
    ] {
        out.extend_from_slice(part);
    }
    for part in [&u16le(0)[..], &u16le(0), &u16le(0), &u16le(0), &u32le(0), &u32le(0)] {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(name);
    let cd_size = out.len() as u32 - cd;
    for part in [
        &u32le(0x0605_4b50)[..],
        &u16le(0),
        &u16le(0),
        &u16le(1),
        &u16le(1),
        &u32le(cd_size),
        &u32le(cd),
        &u16le(0),
    ] {
        out.extend_from_slice(part);
    }
    out
}

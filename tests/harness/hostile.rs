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
    // Fields in order, each 16 or 32 bits little-endian (the zip format's only integer kinds).
    enum F {
        H(u16),
        W(u32),
    }
    let put = |out: &mut Vec<u8>, fields: &[F]| {
        for f in fields {
            match f {
                F::H(v) => out.extend_from_slice(&v.to_le_bytes()),
                F::W(v) => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
    };
    let sizes = [F::W(crc), F::W(csize), F::W(usize_), F::H(name.len() as u16)];
    // Local header (version, flags, deflate, time, date), data; central directory; end record.
    let mut out = Vec::new();
    put(
        &mut out,
        &[F::W(0x0403_4b50), F::H(20), F::H(0), F::H(8), F::H(0), F::H(0)],
    );
    put(&mut out, &sizes);
    put(&mut out, &[F::H(0)]);
    out.extend_from_slice(name);
    out.extend_from_slice(&data);
    let cd = out.len() as u32;
    put(
        &mut out,
        &[
            F::W(0x0201_4b50),
            F::H(20),
            F::H(20),
            F::H(0),
            F::H(8),
            F::H(0),
            F::H(0),
        ],
    );
    put(&mut out, &sizes);
    // Extra, comment, disk, internal and external attributes, local header offset.
    put(&mut out, &[F::H(0), F::H(0), F::H(0), F::H(0), F::W(0), F::W(0)]);
    out.extend_from_slice(name);
    let cd_size = out.len() as u32 - cd;
    put(
        &mut out,
        &[
            F::W(0x0605_4b50),
            F::H(0),
            F::H(0),
            F::H(1),
            F::H(1),
            F::W(cd_size),
            F::W(cd),
            F::H(0),
        ],
    );
    out
}

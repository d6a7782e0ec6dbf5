//! Reads the Go and Kubernetes versions from a Go binary's ELF build info, without executing it.
//!
//! The Go linker writes a `.go.buildinfo` section holding the Go version and, for module
//! builds, the module info text. Since Go 1.18 that text records the `-ldflags` of the build,
//! and Kubernetes stamps its version there with `-X '...version.gitVersion=v1.20.2'`.
//! Only the ELF headers, the section name table and that section are read, each bounded, so a
//! 100 MB binary costs a few kilobytes of I/O and a hostile file gives an error, never a panic.

use std::io::{self, Read, Seek, SeekFrom};

/// What the Go build info of a binary says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoBuildInfo {
    /// The Go toolchain that built the binary, for example `go1.19.8`; `None` when empty.
    pub go_version: Option<String>,
    /// The raw `gitVersion` stamped by the build's `-ldflags`, for example `v1.20.2` or
    /// `v1.28.5+k3s1`. `None` when the build info does not record the ldflags (Go before
    /// 1.18, builds with `-trimpath` since Go 1.19, non-module builds) or they set no
    /// Kubernetes version variable; the caller should then fall back to other evidence.
    pub kubernetes_version: Option<String>,
}

/// Why the build info of a binary could not be read.
///
/// The messages say what was being read and why it failed; they do not name the file, which
/// the caller knows and should add.
#[derive(Debug, thiserror::Error)]
pub enum BuildInfoError {
    /// Reading the file failed for a reason other than its end.
    #[error("cannot read the {what}: {source}")]
    Io {
        /// The part of the file being read.
        what: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// The file does not start with the ELF magic bytes.
    #[error("not an ELF file (it starts with {found:02x?}, not 7f 45 4c 46)")]
    NotElf {
        /// Up to the first four bytes of the file.
        found: Vec<u8>,
    },
    /// The ELF identification names a class or byte order this reader does not know.
    #[error("unsupported ELF file: {what} is {value}")]
    UnsupportedElf {
        /// The identification field, for example "EI_CLASS".
        what: &'static str,
        /// Its value.
        value: u8,
    },
    /// A part of the file lies beyond its end.
    #[error(
        "truncated file: the {what} needs {len} bytes at offset {offset}, but the file is \
         {file_len} bytes long"
    )]
    Truncated {
        /// The part of the file being read.
        what: &'static str,
        /// Its offset in the file.
        offset: u64,
        /// Its length.
        len: u64,
        /// The length of the file.
        file_len: u64,
    },
    /// An ELF header or table is inconsistent.
    #[error("malformed ELF file: {0}")]
    MalformedElf(String),
    /// A part of the file is larger than the caller's limit or a sane bound.
    #[error("the {what} is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The part of the file.
        what: &'static str,
        /// Its size according to the file.
        size: u64,
        /// The limit it exceeds.
        limit: u64,
    },
    /// The section table has no `.go.buildinfo` section.
    #[error(
        "no .go.buildinfo section (not a Go binary, or built by Go before 1.13; \
         fall back to other evidence of the version)"
    )]
    NoBuildInfoSection,
    /// The file has no section table, and the data segment does not hold the build info magic.
    #[error(
        "no section table, and the first {scanned} bytes of the data segment do not hold \
         the Go build info magic (not a Go binary?)"
    )]
    NoBuildInfoMagic {
        /// How many bytes of the data segment were searched.
        scanned: u64,
    },
    /// The build info was found but does not decode.
    #[error("malformed Go build info: {0}")]
    MalformedBuildInfo(String),
}

/// Reads the Go build info of the ELF binary in `file` and the Kubernetes version it records.
///
/// The `.go.buildinfo` section is found through the section table; a file without one is
/// searched for the build info magic in the first 4 MiB of its data segment. Both the Go
/// 1.18+ layout (inline strings) and the older one (pointers to Go strings, resolved through
/// the program headers) are read. `max_section_bytes` bounds the bytes read for the build
/// info itself (section or string); a section larger than that is an error. The file is never
/// executed and never read whole.
pub fn read_build_info<R: Read + Seek>(
    file: &mut R,
    max_section_bytes: u64,
) -> Result<GoBuildInfo, BuildInfoError> {
    let mut input = Input::new(file)?;
    let mut elf = Elf::parse(&mut input)?;

    let blob = match elf.build_info_section(&mut input)? {
        Some(section) => read_section(&mut input, &section, max_section_bytes)?,
        None if elf.has_named_sections() => return Err(BuildInfoError::NoBuildInfoSection),
        None => scan_data_segment(&mut input, &mut elf, max_section_bytes)?,
    };
    let (go_version, mod_info) = decode_build_info(&blob, &mut input, &mut elf, max_section_bytes)?;

    // Limitation: Go 1.19+ omits -ldflags from the build info of -trimpath builds, which
    // official Kubernetes releases are (kubectl 1.27 to 1.33 here), so those give None.
    Ok(GoBuildInfo {
        go_version: Some(go_version).filter(|v| !v.is_empty()),
        kubernetes_version: build_setting(&mod_info, "-ldflags")
            .and_then(|ldflags| git_version_from_ldflags(&ldflags)),
    })
}

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const BUILD_INFO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const BUILD_INFO_HEADER_LEN: usize = 32;
/// The linker aligns the build info to 16 bytes in virtual memory.
const BUILD_INFO_ALIGN: u64 = 16;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_VERSION_INLINE: u8 = 0x2;

/// Bounds for tables the file describes; real Go binaries need a few kilobytes.
const MAX_TABLE_BYTES: u64 = 4 << 20;
const MAX_NAME_TABLE_BYTES: u64 = 1 << 20;
const MAGIC_SCAN_BYTES: u64 = 4 << 20;
const SCAN_CHUNK_BYTES: u64 = 64 << 10;

const SHT_NOBITS: u32 = 8;
const SHF_ALLOC: u64 = 0x2;
const SHF_COMPRESSED: u64 = 0x800;
const SHN_XINDEX: u32 = 0xffff;
const PN_XNUM: u64 = 0xffff;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 0x1;
const PF_W: u32 = 0x2;

/// The file, its length, and bounds-checked reads at offsets.
struct Input<'a, R> {
    file: &'a mut R,
    len: u64,
}

impl<'a, R: Read + Seek> Input<'a, R> {
    fn new(file: &'a mut R) -> Result<Self, BuildInfoError> {
        let len = file
            .seek(SeekFrom::End(0))
            .map_err(|source| BuildInfoError::Io {
                what: "file length",
                source,
            })?;
        Ok(Input { file, len })
    }

    /// Reads `len` bytes at `offset`; callers bound `len` before calling.
    fn read_at(
        &mut self,
        what: &'static str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, BuildInfoError> {
        let truncated = BuildInfoError::Truncated {
            what,
            offset,
            len,
            file_len: self.len,
        };
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(truncated);
        }
        let Ok(len) = usize::try_from(len) else {
            return Err(truncated);
        };

        let mut buf = vec![0; len];
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|source| match source.kind() {
                // The file shrank after its length was taken.
                io::ErrorKind::UnexpectedEof => truncated,
                _ => BuildInfoError::Io { what, source },
            })?;
        Ok(buf)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    /// Decodes an unsigned integer of 1 to 8 bytes.
    fn uint(self, bytes: &[u8]) -> u64 {
        let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
        match self {
            Endian::Little => bytes.iter().rev().fold(0, fold),
            Endian::Big => bytes.iter().fold(0, fold),
        }
    }
}

/// Reads fixed-width fields from a record whose length the caller has checked.
struct Fields<'a> {
    bytes: &'a [u8],
    endian: Endian,
    word: usize,
}

impl Fields<'_> {
    fn u16(&self, at: usize) -> u64 {
        self.endian.uint(&self.bytes[at..at + 2])
    }

    fn u32(&self, at: usize) -> u64 {
        self.endian.uint(&self.bytes[at..at + 4])
    }

    /// An address, offset or size: 4 bytes in ELF32, 8 in ELF64.
    fn word(&self, at: usize) -> u64 {
        self.endian.uint(&self.bytes[at..at + self.word])
    }
}

#[derive(Clone, Debug)]
struct Section {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
}

#[derive(Clone, Debug)]
struct Segment {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// The parts of an ELF file this reader needs. The section headers are read with the ELF
/// header; the program headers only when an address must be mapped or the data scanned.
struct Elf {
    is64: bool,
    endian: Endian,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
    shoff: u64,
    shentsize: u64,
    shstrndx: u64,
    sections: Vec<Section>,
    segments: Option<Vec<Segment>>,
}

impl Elf {
    fn parse<R: Read + Seek>(input: &mut Input<R>) -> Result<Self, BuildInfoError> {
        let head_len = input.len.min(64);
        let head = input.read_at("ELF header", 0, head_len)?;
        if !head.starts_with(ELF_MAGIC) {
            return Err(BuildInfoError::NotElf {
                found: head.iter().take(4).copied().collect(),
            });
        }
        if head.len() < 16 {
            return Err(BuildInfoError::Truncated {
                what: "ELF identification",
                offset: 0,
                len: 16,
                file_len: input.len,
            });
        }
        let is64 = match head[4] {
            1 => false,
            2 => true,
            value => {
                let what = "EI_CLASS";
                return Err(BuildInfoError::UnsupportedElf { what, value });
            }
        };
        let endian = match head[5] {
            1 => Endian::Little,
            2 => Endian::Big,
            value => {
                let what = "EI_DATA";
                return Err(BuildInfoError::UnsupportedElf { what, value });
            }
        };
        let header_len = if is64 { 64 } else { 52 };
        if head.len() < header_len {
            return Err(BuildInfoError::Truncated {
                what: "ELF header",
                offset: 0,
                len: header_len as u64,
                file_len: input.len,
            });
        }

        let f = Fields {
            bytes: &head,
            endian,
            word: if is64 { 8 } else { 4 },
        };
        // ELF64 widens e_entry, e_phoff and e_shoff from 4 to 8 bytes.
        let (phoff, shoff, tail) = if is64 {
            (f.word(32), f.word(40), 52)
        } else {
            (f.word(28), f.word(32), 40)
        };
        let mut elf = Elf {
            is64,
            endian,
            phoff,
            phentsize: f.u16(tail + 2),
            phnum: f.u16(tail + 4),
            shoff,
            shentsize: f.u16(tail + 6),
            shstrndx: f.u16(tail + 10),
            sections: Vec::new(),
            segments: None,
        };
        elf.read_sections(input, f.u16(tail + 8))?;
        Ok(elf)
    }

    fn word_len(&self) -> usize {
        if self.is64 {
            8
        } else {
            4
        }
    }

    fn read_sections<R: Read + Seek>(
        &mut self,
        input: &mut Input<R>,
        shnum: u64,
    ) -> Result<(), BuildInfoError> {
        if self.shoff == 0 {
            return Ok(());
        }
        let min_entsize = if self.is64 { 64 } else { 40 };
        if self.shentsize < min_entsize {
            return Err(BuildInfoError::MalformedElf(format!(
                "section header entries are {} bytes, less than {min_entsize}",
                self.shentsize
            )));
        }

        // With 0xff00 or more sections the counts live in the first section header.
        let mut count = shnum;
        if count == 0 || self.shstrndx == u64::from(SHN_XINDEX) || self.phnum == PN_XNUM {
            let first = self.read_section_headers(input, 1)?.remove(0);
            if count == 0 {
                count = first.size;
            }
            if self.shstrndx == u64::from(SHN_XINDEX) {
                self.shstrndx = u64::from(first.link);
            }
            if self.phnum == PN_XNUM {
                self.phnum = u64::from(first.info);
            }
        }
        if count > 0 {
            self.sections = self.read_section_headers(input, count)?;
        }
        Ok(())
    }

    fn read_section_headers<R: Read + Seek>(
        &self,
        input: &mut Input<R>,
        count: u64,
    ) -> Result<Vec<Section>, BuildInfoError> {
        let table = self.read_table(
            input,
            "section header table",
            self.shoff,
            self.shentsize,
            count,
        )?;
        let word = self.word_len();
        let entries = table.chunks_exact(self.shentsize as usize).map(|entry| {
            let f = Fields {
                bytes: entry,
                endian: self.endian,
                word,
            };
            // sh_name, sh_type, then word-sized flags, addr, offset, size, then sh_link, sh_info.
            let w = |i: usize| f.word(8 + i * word);
            Section {
                name: f.u32(0) as u32,
                kind: f.u32(4) as u32,
                flags: w(0),
                addr: w(1),
                offset: w(2),
                size: w(3),
                link: f.u32(8 + 4 * word) as u32,
                info: f.u32(12 + 4 * word) as u32,
            }
        });
        Ok(entries.collect())
    }

    fn read_table<R: Read + Seek>(
        &self,
        input: &mut Input<R>,
        what: &'static str,
        offset: u64,
        entsize: u64,
        count: u64,
    ) -> Result<Vec<u8>, BuildInfoError> {
        let size = entsize.saturating_mul(count);
        if size > MAX_TABLE_BYTES {
            return Err(BuildInfoError::TooLarge {
                what,
                size,
                limit: MAX_TABLE_BYTES,
            });
        }
        input.read_at(what, offset, size)
    }

    fn segments<R: Read + Seek>(
        &mut self,
        input: &mut Input<R>,
    ) -> Result<&[Segment], BuildInfoError> {
        if self.segments.is_none() {
            self.segments = Some(self.read_segments(input)?);
        }
        Ok(self.segments.as_deref().unwrap_or_default())
    }

    fn read_segments<R: Read + Seek>(
        &self,
        input: &mut Input<R>,
    ) -> Result<Vec<Segment>, BuildInfoError> {
        if self.phoff == 0 || self.phnum == 0 {
            return Ok(Vec::new());
        }
        let min_entsize = if self.is64 { 56 } else { 32 };
        if self.phentsize < min_entsize {
            return Err(BuildInfoError::MalformedElf(format!(
                "program header entries are {} bytes, less than {min_entsize}",
                self.phentsize
            )));
        }
        let table = self.read_table(
            input,
            "program header table",
            self.phoff,
            self.phentsize,
            self.phnum,
        )?;

        let word = self.word_len();
        let entries = table.chunks_exact(self.phentsize as usize).map(|entry| {
            let f = Fields {
                bytes: entry,
                endian: self.endian,
                word,
            };
            // ELF64 puts p_flags right after p_type; ELF32 puts it after p_memsz.
            if self.is64 {
                Segment {
                    kind: f.u32(0) as u32,
                    flags: f.u32(4) as u32,
                    offset: f.word(8),
                    vaddr: f.word(16),
                    filesz: f.word(32),
                }
            } else {
                Segment {
                    kind: f.u32(0) as u32,
                    flags: f.u32(24) as u32,
                    offset: f.word(4),
                    vaddr: f.word(8),
                    filesz: f.word(16),
                }
            }
        });
        Ok(entries.collect())
    }

    /// Whether sections can be told apart by name; without that the data segment is scanned.
    fn has_named_sections(&self) -> bool {
        !self.sections.is_empty() && self.shstrndx != 0
    }

    fn build_info_section<R: Read + Seek>(
        &self,
        input: &mut Input<R>,
    ) -> Result<Option<Section>, BuildInfoError> {
        if !self.has_named_sections() {
            return Ok(None);
        }
        let names = usize::try_from(self.shstrndx)
            .ok()
            .and_then(|i| self.sections.get(i))
            .ok_or_else(|| {
                BuildInfoError::MalformedElf(format!(
                    "the section name table index {} is out of range ({} sections)",
                    self.shstrndx,
                    self.sections.len()
                ))
            })?;
        if names.size > MAX_NAME_TABLE_BYTES {
            return Err(BuildInfoError::TooLarge {
                what: "section name table",
                size: names.size,
                limit: MAX_NAME_TABLE_BYTES,
            });
        }
        let names = input.read_at("section name table", names.offset, names.size)?;

        let wanted = b".go.buildinfo\0";
        let found = self.sections.iter().find(|section| {
            usize::try_from(section.name)
                .ok()
                .and_then(|start| names.get(start..))
                .is_some_and(|name| name.starts_with(wanted))
        });
        Ok(found.cloned())
    }

    /// Maps a virtual address range to a file offset through PT_LOAD segments, or through
    /// sections when the file has no program headers.
    fn file_offset<R: Read + Seek>(
        &mut self,
        input: &mut Input<R>,
        addr: u64,
        len: u64,
    ) -> Result<u64, BuildInfoError> {
        let inside = |start: u64, size: u64| {
            addr.checked_sub(start)
                .filter(|&delta| delta <= size && len <= size - delta)
        };
        let segments = self.segments(input)?;
        let found = if segments.is_empty() {
            self.sections
                .iter()
                .filter(|s| s.kind != SHT_NOBITS && s.flags & SHF_ALLOC != 0)
                .find_map(|s| inside(s.addr, s.size).map(|delta| (s.offset, delta)))
        } else {
            segments
                .iter()
                .filter(|p| p.kind == PT_LOAD)
                .find_map(|p| inside(p.vaddr, p.filesz).map(|delta| (p.offset, delta)))
        };
        found
            .and_then(|(offset, delta)| offset.checked_add(delta))
            .ok_or_else(|| {
                BuildInfoError::MalformedBuildInfo(format!(
                    "the address range {addr:#x}+{len} is not backed by the file"
                ))
            })
    }
}

fn read_section<R: Read + Seek>(
    input: &mut Input<R>,
    section: &Section,
    limit: u64,
) -> Result<Vec<u8>, BuildInfoError> {
    if section.kind == SHT_NOBITS || section.flags & SHF_COMPRESSED != 0 {
        return Err(BuildInfoError::MalformedBuildInfo(
            "the .go.buildinfo section has no plain contents in the file (SHT_NOBITS or \
             SHF_COMPRESSED)"
                .to_string(),
        ));
    }
    if section.size > limit {
        return Err(BuildInfoError::TooLarge {
            what: ".go.buildinfo section",
            size: section.size,
            limit,
        });
    }
    input.read_at(".go.buildinfo section", section.offset, section.size)
}

/// Finds the build info in a file without a section table the way Go's own reader does: at a
/// 16-byte aligned address in the first writable, non-executable PT_LOAD segment.
fn scan_data_segment<R: Read + Seek>(
    input: &mut Input<R>,
    elf: &mut Elf,
    limit: u64,
) -> Result<Vec<u8>, BuildInfoError> {
    let data = elf
        .segments(input)?
        .iter()
        .find(|p| p.kind == PT_LOAD && p.flags & (PF_X | PF_W) == PF_W)
        .cloned()
        .ok_or(BuildInfoError::NoBuildInfoMagic { scanned: 0 })?;

    let skip = (BUILD_INFO_ALIGN - data.vaddr % BUILD_INFO_ALIGN) % BUILD_INFO_ALIGN;
    let scanned = data.filesz.saturating_sub(skip).min(MAGIC_SCAN_BYTES);
    let mut pos = 0;
    while pos < scanned {
        // Chunks are multiples of 16 bytes long, so no aligned magic straddles two chunks.
        let len = SCAN_CHUNK_BYTES.min(scanned - pos);
        let start = data.offset.saturating_add(skip).saturating_add(pos);
        let chunk = input.read_at("data segment", start, len)?;
        let hit = chunk
            .chunks(BUILD_INFO_ALIGN as usize)
            .position(|candidate| candidate.starts_with(BUILD_INFO_MAGIC));
        if let Some(index) = hit {
            let at = skip + pos + index as u64 * BUILD_INFO_ALIGN;
            let len = (data.filesz - at).min(limit);
            return input.read_at("build info", data.offset.saturating_add(at), len);
        }
        pos += len;
    }
    Err(BuildInfoError::NoBuildInfoMagic { scanned })
}

/// Decodes the build info blob into the Go version and the module info text.
fn decode_build_info<R: Read + Seek>(
    blob: &[u8],
    input: &mut Input<R>,
    elf: &mut Elf,
    limit: u64,
) -> Result<(String, String), BuildInfoError> {
    if blob.len() < BUILD_INFO_HEADER_LEN || !blob.starts_with(BUILD_INFO_MAGIC) {
        return Err(BuildInfoError::MalformedBuildInfo(format!(
            "the {} bytes found do not start with a 32-byte header holding the magic \
             \\xff Go buildinf:",
            blob.len()
        )));
    }
    let ptr_size = blob[14];
    let flags = blob[15];

    let (version, mod_info) = if flags & FLAG_VERSION_INLINE != 0 {
        let mut rest = &blob[BUILD_INFO_HEADER_LEN..];
        let version = take_varint_string(&mut rest, "Go version")?;
        let mod_info = take_varint_string(&mut rest, "module info")?;
        (version.to_vec(), mod_info.to_vec())
    } else {
        let endian = if flags & FLAG_BIG_ENDIAN != 0 {
            Endian::Big
        } else {
            Endian::Little
        };
        let ptr = usize::from(ptr_size);
        if ptr != 4 && ptr != 8 {
            return Err(BuildInfoError::MalformedBuildInfo(format!(
                "pointer size {ptr_size}, not 4 or 8"
            )));
        }
        let version_addr = endian.uint(&blob[16..16 + ptr]);
        let mod_addr = endian.uint(&blob[16 + ptr..16 + 2 * ptr]);
        let version = read_go_string(input, elf, version_addr, ptr, endian, limit)?;
        let mod_info = read_go_string(input, elf, mod_addr, ptr, endian, limit)?;
        (version, mod_info)
    };

    Ok((
        String::from_utf8_lossy(&version).into_owned(),
        String::from_utf8_lossy(strip_sentinels(&mod_info)).into_owned(),
    ))
}

/// Takes one string prefixed by its length as an unsigned LEB128 varint.
fn take_varint_string<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8], BuildInfoError> {
    let mut len: u64 = 0;
    let mut used = 0;
    loop {
        let Some(&byte) = rest.get(used) else {
            return Err(BuildInfoError::MalformedBuildInfo(format!(
                "the length of the {what} runs past the end of the build info"
            )));
        };
        if used == 9 && byte > 1 {
            return Err(BuildInfoError::MalformedBuildInfo(format!(
                "the length of the {what} overflows 64 bits"
            )));
        }
        len |= u64::from(byte & 0x7f) << (7 * used);
        used += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }

    let body = &rest[used..];
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= body.len())
        .ok_or_else(|| {
            BuildInfoError::MalformedBuildInfo(format!(
                "the {what} is {len} bytes long, but only {} bytes of build info follow",
                body.len()
            ))
        })?;
    *rest = &body[len..];
    Ok(&body[..len])
}

/// Reads a Go string header (data pointer, length) at `addr` and then the string's bytes.
fn read_go_string<R: Read + Seek>(
    input: &mut Input<R>,
    elf: &mut Elf,
    addr: u64,
    ptr: usize,
    endian: Endian,
    limit: u64,
) -> Result<Vec<u8>, BuildInfoError> {
    let header_len = 2 * ptr as u64;
    let offset = elf.file_offset(input, addr, header_len)?;
    let header = input.read_at("Go string header", offset, header_len)?;
    let data = endian.uint(&header[..ptr]);
    let len = endian.uint(&header[ptr..]);
    if len == 0 {
        return Ok(Vec::new());
    }
    if len > limit {
        return Err(BuildInfoError::TooLarge {
            what: "build info string",
            size: len,
            limit,
        });
    }
    let offset = elf.file_offset(input, data, len)?;
    input.read_at("build info string", offset, len)
}

/// The module info is framed by 16 bytes of sentinel at each end; without them there is none.
fn strip_sentinels(mod_info: &[u8]) -> &[u8] {
    let n = mod_info.len();
    if n >= 33 && mod_info[n - 17] == b'\n' {
        &mod_info[16..n - 16]
    } else {
        &[]
    }
}

/// The value of a `build\tkey=value` line of the module info, unquoted.
///
/// The key and value are quoted with Go's quoting when they hold spaces, quotes or `=`
/// (values of `-ldflags` usually do); Go 1.18 wrote them unquoted.
fn build_setting(mod_info: &str, key: &str) -> Option<String> {
    mod_info
        .split('\n')
        .filter_map(|line| line.strip_prefix("build\t"))
        .find_map(|setting| {
            let (name, raw) = match setting.as_bytes().first()? {
                b'"' | b'`' => {
                    let (name, rest) = unquote_go_prefix(setting)?;
                    (name, rest.strip_prefix('=')?)
                }
                _ => {
                    let (name, raw) = setting.split_once('=')?;
                    (name.to_string(), raw)
                }
            };
            if name != key {
                return None;
            }
            match raw.as_bytes().first() {
                Some(b'"' | b'`') => unquote_go_prefix(raw)
                    .filter(|(_, rest)| rest.is_empty())
                    .map(|(value, _)| value),
                _ => Some(raw.to_string()),
            }
        })
}

/// Decodes the Go string literal at the start of `s` (interpreted or raw), returning it and
/// the text after it.
fn unquote_go_prefix(s: &str) -> Option<(String, &str)> {
    if let Some(body) = s.strip_prefix('`') {
        let end = body.find('`')?;
        // Go drops carriage returns from raw string literals.
        let value = body[..end].replace('\r', "");
        return Some((value, &body[end + 1..]));
    }

    let body = s.strip_prefix('"')?;
    let mut out = Vec::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let value = String::from_utf8_lossy(&out).into_owned();
                return Some((value, &body[i + 1..]));
            }
            '\n' => return None,
            '\\' => {
                let (_, escape) = chars.next()?;
                let simple = match escape {
                    'a' => Some(0x07),
                    'b' => Some(0x08),
                    'f' => Some(0x0c),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(0x0b),
                    '\\' | '"' | '\'' => Some(escape as u8),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte);
                    continue;
                }
                let (digits, radix) = match escape {
                    'x' => (2, 16),
                    'u' => (4, 16),
                    'U' => (8, 16),
                    '0'..='7' => (2, 8),
                    _ => return None,
                };
                let mut text = String::new();
                if radix == 8 {
                    text.push(escape);
                }
                for _ in 0..digits {
                    text.push(chars.next()?.1);
                }
                let value = u32::from_str_radix(&text, radix).ok()?;
                if matches!(escape, 'u' | 'U') {
                    let mut utf8 = [0; 4];
                    out.extend_from_slice(char::from_u32(value)?.encode_utf8(&mut utf8).as_bytes());
                } else {
                    out.push(u8::try_from(value).ok()?);
                }
            }
            _ => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    None
}

/// Linker variables that hold the Kubernetes version, most authoritative first. Each may be
/// reached through a vendor directory, as in
/// `k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitVersion`.
const VERSION_VARIABLES: [&str; 5] = [
    "k8s.io/component-base/version.gitVersion",
    "k8s.io/client-go/pkg/version.gitVersion",
    "github.com/k3s-io/k3s/pkg/version.Version",
    "github.com/rancher/k3s/pkg/version.Version",
    "k8s.io/kubernetes/pkg/version.gitVersion",
];

/// The Kubernetes version set by `-X` in an `-ldflags` value, split the way `go build` does.
fn git_version_from_ldflags(ldflags: &str) -> Option<String> {
    // `go build -ldflags=all=...` applies the flags to a package pattern.
    let mut flags = ldflags.trim();
    if !flags.starts_with('-') {
        flags = flags.split_once('=')?.1;
    }

    let mut found: [Option<&str>; VERSION_VARIABLES.len()] = Default::default();
    let fields = split_quoted_fields(flags)?;
    let mut fields = fields.iter();
    while let Some(field) = fields.next() {
        let assignment = match field.as_str() {
            "-X" | "--X" => fields.next().map(String::as_str),
            other => other
                .strip_prefix("-X=")
                .or_else(|| other.strip_prefix("--X=")),
        };
        let Some(assignment) = assignment else {
            continue;
        };
        let Some((name, value)) = assignment.split_once('=') else {
            continue;
        };
        if let Some(rank) = VERSION_VARIABLES.iter().position(|v| {
            name == *v
                || name
                    .strip_suffix(v)
                    .is_some_and(|p| p.ends_with("/vendor/"))
        }) {
            // The linker keeps the last -X for a name.
            found[rank] = Some(value);
        }
    }

    let version = strip_matching_quotes(found.into_iter().flatten().next()?);
    (!version.is_empty()).then(|| version.to_string())
}

/// Splits at whitespace; a field that starts with ' or " runs to the matching quote, with no
/// escapes, as Go's cmd/internal/quoted does. `None` for an unterminated quote.
fn split_quoted_fields(s: &str) -> Option<Vec<String>> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let mut fields = Vec::new();
    let mut rest = s.trim_start_matches(is_space);
    while let Some(first) = rest.chars().next() {
        if first == '\'' || first == '"' {
            let end = rest[1..].find(first)? + 1;
            fields.push(rest[1..end].to_string());
            rest = &rest[end + 1..];
        } else {
            let end = rest.find(is_space).unwrap_or(rest.len());
            fields.push(rest[..end].to_string());
            rest = &rest[end..];
        }
        rest = rest.trim_start_matches(is_space);
    }
    Some(fields)
}

/// `go build` would keep quotes in `-X name="v1.2.3"`, but no version holds quotes, so they
/// are taken as the shell-style quoting the author meant.
fn strip_matching_quotes(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const LIMIT: u64 = 1 << 20;
    const DATA_OFFSET: u64 = 0x1000;
    const VADDR_BASE: u64 = 0x40_0000;

    /// Builds minimal ELF images: one writable PT_LOAD covering the sections, whose contents
    /// start at DATA_OFFSET, each aligned to 16 bytes, at VADDR_BASE + file offset.
    struct ElfImage {
        is64: bool,
        endian: Endian,
        sections: Vec<(&'static str, Vec<u8>)>,
        section_table: bool,
    }

    impl ElfImage {
        fn new(is64: bool, endian: Endian) -> Self {
            ElfImage {
                is64,
                endian,
                sections: Vec::new(),
                section_table: true,
            }
        }

        fn section(mut self, name: &'static str, data: Vec<u8>) -> Self {
            self.sections.push((name, data));
            self
        }

        fn without_section_table(mut self) -> Self {
            self.section_table = false;
            self
        }

        /// Where section `index` lands, for old-format pointers.
        fn addr_of(&self, index: usize) -> u64 {
            let before: u64 = self.sections[..index]
                .iter()
                .map(|(_, d)| align16(d.len() as u64))
                .sum();
            VADDR_BASE + DATA_OFFSET + before
        }

        fn put(&self, out: &mut Vec<u8>, value: u64, len: usize) {
            let bytes = value.to_be_bytes();
            let mut field = bytes[8 - len..].to_vec();
            if self.endian == Endian::Little {
                field.reverse();
            }
            out.extend_from_slice(&field);
        }

        fn word(&self, out: &mut Vec<u8>, value: u64) {
            self.put(out, value, if self.is64 { 8 } else { 4 });
        }

        fn build(&self) -> Vec<u8> {
            let (ehsize, phentsize, shentsize) = if self.is64 {
                (64, 56, 64)
            } else {
                (52, 32, 40)
            };

            let mut data = Vec::new();
            let mut offsets = Vec::new();
            for (_, bytes) in &self.sections {
                offsets.push(DATA_OFFSET + data.len() as u64);
                data.extend_from_slice(bytes);
                data.resize(align16(data.len() as u64) as usize, 0);
            }
            let mut names = vec![0u8];
            let mut name_offsets = Vec::new();
            let all_names = self.sections.iter().map(|(name, _)| *name);
            for name in all_names.chain([".shstrtab"]) {
                name_offsets.push(names.len() as u32);
                names.extend_from_slice(name.as_bytes());
                names.push(0);
            }
            let names_offset = DATA_OFFSET + data.len() as u64;
            let shoff = align16(names_offset + names.len() as u64);
            let shnum = self.sections.len() as u64 + 2;

            let mut out = Vec::new();
            out.extend_from_slice(ELF_MAGIC);
            out.push(if self.is64 { 2 } else { 1 });
            out.push(if self.endian == Endian::Little { 1 } else { 2 });
            out.push(1);
            out.resize(16, 0);
            self.put(&mut out, 2, 2); // e_type: ET_EXEC
            self.put(&mut out, 62, 2);
            self.put(&mut out, 1, 4);
            self.word(&mut out, VADDR_BASE);
            self.word(&mut out, ehsize);
            self.word(&mut out, if self.section_table { shoff } else { 0 });
            self.put(&mut out, 0, 4);
            self.put(&mut out, ehsize, 2);
            self.put(&mut out, phentsize, 2);
            self.put(&mut out, 1, 2);
            self.put(&mut out, shentsize, 2);
            self.put(&mut out, if self.section_table { shnum } else { 0 }, 2);
            self.put(&mut out, if self.section_table { shnum - 1 } else { 0 }, 2);

            let (vaddr, size) = (VADDR_BASE + DATA_OFFSET, data.len() as u64);
            self.put(&mut out, u64::from(PT_LOAD), 4);
            if self.is64 {
                self.put(&mut out, u64::from(PF_W | 0x4), 4);
                for value in [DATA_OFFSET, vaddr, vaddr, size, size, 0x1000] {
                    self.word(&mut out, value);
                }
            } else {
                for value in [DATA_OFFSET, vaddr, vaddr, size, size] {
                    self.word(&mut out, value);
                }
                self.put(&mut out, u64::from(PF_W | 0x4), 4);
                self.word(&mut out, 0x1000);
            }

            out.resize(DATA_OFFSET as usize, 0);
            out.extend_from_slice(&data);
            out.extend_from_slice(&names);
            if !self.section_table {
                return out;
            }
            out.resize(shoff as usize, 0);
            out.resize(out.len() + shentsize as usize, 0);
            let mut headers: Vec<(u32, u32, u64, u64, u64, u64)> = self
                .sections
                .iter()
                .enumerate()
                .map(|(i, (_, d))| {
                    (
                        name_offsets[i],
                        1,
                        SHF_ALLOC | 0x1,
                        VADDR_BASE + offsets[i],
                        offsets[i],
                        d.len() as u64,
                    )
                })
                .collect();
            headers.push((
                *name_offsets.last().unwrap(),
                3,
                0,
                0,
                names_offset,
                names.len() as u64,
            ));
            for (name, kind, flags, addr, offset, size) in headers {
                self.put(&mut out, u64::from(name), 4);
                self.put(&mut out, u64::from(kind), 4);
                for value in [flags, addr, offset, size] {
                    self.word(&mut out, value);
                }
                self.put(&mut out, 0, 4);
                self.put(&mut out, 0, 4);
                self.word(&mut out, 16);
                self.word(&mut out, 0);
            }
            out
        }
    }

    fn align16(n: u64) -> u64 {
        n.div_ceil(16) * 16
    }

    fn uvarint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// Module info framed by the 16-byte sentinels the Go linker adds.
    fn framed(mod_info: &str) -> Vec<u8> {
        let mut out = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
        out.extend_from_slice(mod_info.as_bytes());
        out.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
        out
    }

    /// The Go 1.18+ section: header, then the version and module info inline.
    fn inline_build_info(go_version: &str, mod_info: &str) -> Vec<u8> {
        let mut out = BUILD_INFO_MAGIC.to_vec();
        out.extend_from_slice(&[8, FLAG_VERSION_INLINE]);
        out.resize(BUILD_INFO_HEADER_LEN, 0);
        let module = if mod_info.is_empty() {
            Vec::new()
        } else {
            framed(mod_info)
        };
        for bytes in [go_version.as_bytes(), &module] {
            uvarint(bytes.len(), &mut out);
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Module info whose `-ldflags` setting is `raw_ldflags`, written as Go writes it.
    fn mod_info_with_ldflags(raw_ldflags: &str) -> String {
        format!(
            "path\tk8s.io/kubernetes/cmd/kube-scheduler\nmod\tk8s.io/kubernetes\t(devel)\t\n\
             build\t-compiler=gc\nbuild\t-ldflags={raw_ldflags}\nbuild\tCGO_ENABLED=0\n\
             build\tGOOS=linux\n"
        )
    }

    fn image_with(go_version: &str, mod_info: &str) -> Vec<u8> {
        ElfImage::new(true, Endian::Little)
            .section(".text", vec![0xcc; 40])
            .section(".go.buildinfo", inline_build_info(go_version, mod_info))
            .build()
    }

    fn read(image: &[u8]) -> Result<GoBuildInfo, BuildInfoError> {
        read_build_info(&mut Cursor::new(image), LIMIT)
    }

    fn info(go: &str, kubernetes: Option<&str>) -> GoBuildInfo {
        GoBuildInfo {
            go_version: Some(go.to_string()),
            kubernetes_version: kubernetes.map(str::to_string),
        }
    }

    /// The old (Go 1.13 to 1.17) layout: the section holds pointers to two Go string headers,
    /// which sit in a second section together with the string bytes.
    fn pointer_image(is64: bool, endian: Endian, go_version: &str, mod_info: &[u8]) -> Vec<u8> {
        let ptr = if is64 { 8 } else { 4 };
        let probe = ElfImage::new(is64, endian)
            .section(".go.buildinfo", vec![0; 32])
            .section(".data", Vec::new());
        let data_addr = probe.addr_of(1);
        let version_bytes = data_addr + 4 * ptr as u64;
        let mod_bytes = version_bytes + go_version.len() as u64;

        let mut data = Vec::new();
        let mut header = BUILD_INFO_MAGIC.to_vec();
        header.push(ptr as u8);
        header.push(if endian == Endian::Big {
            FLAG_BIG_ENDIAN
        } else {
            0
        });
        for value in [data_addr, data_addr + 2 * ptr as u64] {
            probe.put(&mut header, value, ptr);
        }
        header.resize(32, 0);
        for value in [
            version_bytes,
            go_version.len() as u64,
            mod_bytes,
            mod_info.len() as u64,
        ] {
            probe.put(&mut data, value, ptr);
        }
        data.extend_from_slice(go_version.as_bytes());
        data.extend_from_slice(mod_info);

        ElfImage::new(is64, endian)
            .section(".go.buildinfo", header)
            .section(".data", data)
            .build()
    }

    #[test]
    fn go118_format_reports_go_and_kubernetes_versions() {
        let ldflags = r#""-s -w -X 'k8s.io/component-base/version.gitVersion=v1.20.2' -X 'k8s.io/component-base/version.gitCommit=faecb196815e248d3ecfb03c680a4507229c2a56'""#;
        let image = image_with("go1.19.8", &mod_info_with_ldflags(ldflags));

        assert_eq!(read(&image).unwrap(), info("go1.19.8", Some("v1.20.2")));
    }

    #[test]
    fn escaped_double_quotes_inside_quoted_ldflags_are_decoded() {
        let ldflags = r#""-X \"k8s.io/kubernetes/vendor/k8s.io/component-base/version.gitVersion=v1.21.0\" -s""#;
        let image = image_with("go1.20.1", &mod_info_with_ldflags(ldflags));

        assert_eq!(read(&image).unwrap(), info("go1.20.1", Some("v1.21.0")));
    }

    #[test]
    fn unquoted_go118_ldflags_setting_is_read() {
        let ldflags = "-X 'k8s.io/component-base/version.gitVersion=v1.24.0'";
        let image = image_with("go1.18", &mod_info_with_ldflags(ldflags));

        assert_eq!(read(&image).unwrap(), info("go1.18", Some("v1.24.0")));
    }

    #[test]
    fn build_without_ldflags_has_no_kubernetes_version() {
        let mod_info = "path\tk8s.io/kubernetes/cmd/kube-scheduler\nbuild\t-trimpath=true\n";
        let image = image_with("go1.21.3", mod_info);

        assert_eq!(read(&image).unwrap(), info("go1.21.3", None));
    }

    #[test]
    fn build_without_module_info_has_no_kubernetes_version() {
        assert_eq!(
            read(&image_with("go1.19.8", "")).unwrap(),
            info("go1.19.8", None)
        );
    }

    #[test]
    fn elf32_big_endian_is_read() {
        let ldflags = "\"-X k8s.io/component-base/version.gitVersion=v1.27.3\"";
        let image = ElfImage::new(false, Endian::Big)
            .section(
                ".go.buildinfo",
                inline_build_info("go1.20.5", &mod_info_with_ldflags(ldflags)),
            )
            .build();

        assert_eq!(read(&image).unwrap(), info("go1.20.5", Some("v1.27.3")));
    }

    #[test]
    fn old_pointer_format_is_resolved_through_program_headers() {
        let image = pointer_image(
            true,
            Endian::Little,
            "go1.15.15",
            &framed("path\tk8s.io/kubernetes\n"),
        );

        assert_eq!(read(&image).unwrap(), info("go1.15.15", None));
    }

    #[test]
    fn old_pointer_format_in_elf32_big_endian_is_resolved() {
        let image = pointer_image(false, Endian::Big, "go1.16.7", b"");

        assert_eq!(read(&image).unwrap(), info("go1.16.7", None));
    }

    #[test]
    fn old_pointer_format_with_unmapped_pointer_is_an_error() {
        let mut image = pointer_image(true, Endian::Little, "go1.15.15", b"");
        let at = DATA_OFFSET as usize + 16;
        image[at..at + 8].copy_from_slice(&0xdead_beef_0000u64.to_le_bytes());

        assert!(matches!(
            read(&image),
            Err(BuildInfoError::MalformedBuildInfo(_))
        ));
    }

    #[test]
    fn old_pointer_format_with_huge_string_length_is_an_error() {
        let mut image = pointer_image(true, Endian::Little, "go1.15.15", b"");
        // The version's length field in the first string header.
        let at = DATA_OFFSET as usize + 32 + 8;
        image[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());

        assert!(matches!(read(&image), Err(BuildInfoError::TooLarge { .. })));
    }

    #[test]
    fn file_without_section_table_is_scanned_for_the_magic() {
        let ldflags = "\"-X 'k8s.io/component-base/version.gitVersion=v1.26.1'\"";
        let image = ElfImage::new(true, Endian::Little)
            .section(".noptrdata", vec![7; 100])
            .section(
                ".go.buildinfo",
                inline_build_info("go1.19.5", &mod_info_with_ldflags(ldflags)),
            )
            .without_section_table()
            .build();

        assert_eq!(read(&image).unwrap(), info("go1.19.5", Some("v1.26.1")));
    }

    #[test]
    fn file_without_section_table_or_magic_is_an_error() {
        let image = ElfImage::new(true, Endian::Little)
            .section(".data", vec![7; 100])
            .without_section_table()
            .build();

        assert!(matches!(
            read(&image),
            Err(BuildInfoError::NoBuildInfoMagic { .. })
        ));
    }

    #[test]
    fn elf_without_build_info_section_is_an_error() {
        let image = ElfImage::new(true, Endian::Little)
            .section(".data", vec![0; 64])
            .build();

        assert!(matches!(
            read(&image),
            Err(BuildInfoError::NoBuildInfoSection)
        ));
    }

    #[test]
    fn non_elf_file_is_an_error() {
        let err = read(b"#!/bin/sh\nexec kube-scheduler \"$@\"\n").unwrap_err();

        assert!(matches!(err, BuildInfoError::NotElf { .. }), "{err}");
        assert!(read(b"").is_err());
    }

    #[test]
    fn section_larger_than_the_limit_is_an_error() {
        let image = image_with("go1.19.8", &mod_info_with_ldflags("-s"));

        let err = read_build_info(&mut Cursor::new(&image), 40).unwrap_err();

        assert!(
            matches!(err, BuildInfoError::TooLarge { limit: 40, .. }),
            "{err}"
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let image = image_with("go1.19.8", &mod_info_with_ldflags("-s"));

        for len in 0..image.len() {
            assert!(read(&image[..len]).is_err(), "truncated to {len} bytes");
        }
    }

    #[test]
    fn hostile_header_offsets_are_errors() {
        let image = image_with("go1.19.8", "");
        let patches: [(usize, &[u8]); 4] = [
            (40, &u64::MAX.to_le_bytes()),  // e_shoff
            (58, &u16::MAX.to_le_bytes()),  // e_shentsize
            (60, &0xfffeu16.to_le_bytes()), // e_shnum
            (62, &0xfff0u16.to_le_bytes()), // e_shstrndx
        ];

        for (at, bytes) in patches {
            let mut hostile = image.clone();
            hostile[at..at + bytes.len()].copy_from_slice(bytes);
            assert!(read(&hostile).is_err(), "patch at {at}");
        }
    }

    #[test]
    fn huge_section_size_with_a_huge_limit_is_an_error_without_allocating() {
        let mut image = image_with("go1.19.8", "");
        let shoff = u64::from_le_bytes(image[40..48].try_into().unwrap()) as usize;
        // sh_size of section 2 (.go.buildinfo): null, .text, .go.buildinfo.
        let at = shoff + 2 * 64 + 32;
        image[at..at + 8].copy_from_slice(&(u64::MAX - 8).to_le_bytes());

        let err = read_build_info(&mut Cursor::new(&image), u64::MAX).unwrap_err();

        assert!(matches!(err, BuildInfoError::Truncated { .. }), "{err}");
    }

    #[test]
    fn varint_length_past_the_section_is_an_error() {
        let mut section = inline_build_info("go1.19.8", "");
        section[32] = 0xff;
        section[33] = 0x7f;
        let image = ElfImage::new(true, Endian::Little)
            .section(".go.buildinfo", section)
            .build();

        assert!(matches!(
            read(&image),
            Err(BuildInfoError::MalformedBuildInfo(_))
        ));
    }

    #[test]
    fn random_corruption_never_panics() {
        let image = pointer_image(true, Endian::Little, "go1.15.15", &framed("path\tx\n"));
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut hostile = image.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Hit the headers or everything from the data on, not the zero padding.
                let interesting = 120 + hostile.len() - DATA_OFFSET as usize;
                let mut at = (state as usize) % interesting;
                if at >= 120 {
                    at += DATA_OFFSET as usize - 120;
                }
                hostile[at] = (state >> 32) as u8;
            }
            let _ = read(&hostile);
        }
    }

    #[test]
    fn vendored_client_go_variable_is_used_when_component_base_is_absent() {
        let ldflags =
            "-X 'k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version.gitVersion=v1.14.10'";

        assert_eq!(
            git_version_from_ldflags(ldflags).as_deref(),
            Some("v1.14.10")
        );
    }

    #[test]
    fn component_base_wins_over_client_go_and_k3s() {
        let ldflags = "-X github.com/k3s-io/k3s/pkg/version.Version=v1.28.5+k3s1 \
                       -X k8s.io/client-go/pkg/version.gitVersion=v1.28.5 \
                       -X k8s.io/component-base/version.gitVersion=v1.28.5+k3s1";

        assert_eq!(
            git_version_from_ldflags(ldflags).as_deref(),
            Some("v1.28.5+k3s1")
        );
    }

    #[test]
    fn k3s_version_variable_is_used_alone() {
        let ldflags = "-w -s -X github.com/k3s-io/k3s/pkg/version.Version=v1.28.5+k3s1";

        assert_eq!(
            git_version_from_ldflags(ldflags).as_deref(),
            Some("v1.28.5+k3s1")
        );
    }

    #[test]
    fn package_pattern_and_equals_forms_are_understood() {
        let ldflags = "all=-s -X=k8s.io/component-base/version.gitVersion=\"v1.29.0\"";

        assert_eq!(
            git_version_from_ldflags(ldflags).as_deref(),
            Some("v1.29.0")
        );
    }

    #[test]
    fn last_assignment_of_a_variable_wins() {
        let ldflags = "-X k8s.io/component-base/version.gitVersion=v0.0.0 \
                       -X k8s.io/component-base/version.gitVersion=v1.22.1";

        assert_eq!(
            git_version_from_ldflags(ldflags).as_deref(),
            Some("v1.22.1")
        );
    }

    #[test]
    fn unrelated_or_unterminated_ldflags_give_no_version() {
        assert_eq!(git_version_from_ldflags("-X main.version=v1.2.3"), None);
        assert_eq!(
            git_version_from_ldflags("-X 'k8s.io/component-base/version.gitVersion=v1"),
            None
        );
        assert_eq!(
            git_version_from_ldflags("-X example.com/k8s.io/component-base/version.gitVersion=v1"),
            None
        );
        assert_eq!(git_version_from_ldflags("-X"), None);
    }

    #[test]
    fn go_quoted_build_settings_are_unquoted() {
        let mod_info = "build\t\"we=ird\"=x\nbuild\t-ldflags=\"a\\tb\\x41\\u00e9\\101\\\\\"\n";

        assert_eq!(build_setting(mod_info, "we=ird").as_deref(), Some("x"));
        assert_eq!(
            build_setting(mod_info, "-ldflags").as_deref(),
            Some("a\tbAéA\\")
        );
        assert_eq!(
            build_setting("build\t-ldflags=`raw \"x\"`", "-ldflags").as_deref(),
            Some("raw \"x\"")
        );
        assert_eq!(build_setting("build\t-ldflags=\"open", "-ldflags"), None);
    }
}

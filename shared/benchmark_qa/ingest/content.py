"""What a file is by its first bytes (docs/layout.md, "File types by content").

`detect(head)` names the content of a file from its first `HEAD_BYTES` bytes (one ranged GET): DICOM by the
`DICM` marker after the 128-byte preamble, NIfTI-1/2 by the magic of its header (also inside gzip, for
`.nii.gz`), legacy Office files by the OLE compound-file signature, and everything else by `filetype`'s
magic-byte matchers. Text is told apart from binary by decoding as UTF-8. The detector and zlib are
imported on first use, so a cold start that never sniffs a file pays nothing for them.
"""

from __future__ import annotations

from enum import StrEnum

HEAD_BYTES = 8192  # what filetype's matchers look at, and enough for a gzip-compressed NIfTI header

DICOM = "application/dicom"
NIFTI = "application/x-nifti"
OLE = "application/x-ole-storage"  # .doc .xls .ppt .msg: Office's compound-file format
TEXT = "text/plain"
UNKNOWN = "application/octet-stream"  # read, and no matcher knew it


class Verdict(StrEnum):
    """What a detected content type means for the import."""

    MEDIA = "media"  # a type Encord imports (see `media_type`)
    DICOM = "dicom"  # a DICOM Part 10 file: only a series member
    TEXT = "text"  # text of some kind: a text item only with a text extension
    NOT_MEDIA = "not_media"  # documents, archives, executables...: never a data unit
    UNKNOWN = "unknown"  # nothing recognised it: the extension decides


_MEDIA_PREFIXES = {"video/": "video", "image/": "image", "audio/": "audio"}

# Labels for reasons: people know "a Word document" better than its MIME type.
_LABELS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a Word document (.docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "an Excel workbook (.xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "a PowerPoint file (.pptx)",
    "application/vnd.oasis.opendocument.text": "an OpenDocument text (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet (.ods)",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation (.odp)",
    OLE: "a legacy Office file (.doc/.xls/.ppt)",
    "application/zip": "a zip archive",
    "application/gzip": "a gzip archive",
    "application/x-tar": "a tar archive",
    DICOM: "a DICOM file",
    NIFTI: "a NIfTI volume",
    TEXT: "text",
    UNKNOWN: "unrecognised binary data",
}


def describe(content_type: str) -> str:
    return _LABELS.get(content_type, content_type)


def detect(head: bytes) -> str:
    """The content type of a file from its first bytes (`UNKNOWN` when nothing matches)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if _is_nifti(head):
        return NIFTI
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return OLE
    import filetype

    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if head and _is_text(head):
        return TEXT
    return UNKNOWN


def verdict(content_type: str) -> Verdict:
    if content_type == DICOM:
        return Verdict.DICOM
    if content_type == UNKNOWN:
        return Verdict.UNKNOWN
    if content_type == TEXT:
        return Verdict.TEXT
    if media_type(content_type) is not None:
        return Verdict.MEDIA
    return Verdict.NOT_MEDIA


def media_type(content_type: str) -> str | None:
    """The data type value (`items.DataType`) of a detected media type, else None."""
    if content_type == NIFTI:
        return "nifti"
    if content_type == "application/pdf":
        return "pdf"
    for prefix, data_type in _MEDIA_PREFIXES.items():
        if content_type.startswith(prefix):
            return data_type
    return None


def _is_nifti(head: bytes) -> bool:
    if head[:2] == b"\x1f\x8b":  # gzip: look inside (.nii.gz)
        import zlib

        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 600)
        except zlib.error:
            return False
    # NIfTI-1: sizeof_hdr 348, magic "n+1\0" (single file) or "ni1\0" (header of a pair) at byte 344.
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return True
    # NIfTI-2: sizeof_hdr 540, magic "n+2\0\r\n\x1a\n" at byte 4.
    return head[4:12] in (b"n+2\x00\r\n\x1a\n", b"ni2\x00\r\n\x1a\n")


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the end of the range is still text.
        return error.start >= len(head) - 3
    return True

"""Small files whose first bytes are what their names claim, for the demo and the tests: ingest types files
by content (docs/layout.md), so a `.jpg` must start like a JPEG. `tag` makes each file's bytes (and eTag) its own.
"""

from __future__ import annotations

import gzip
import io
import struct


def jpeg(tag: str = "") -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + tag.encode() + b"\xff\xd9"


def png(tag: str = "") -> bytes:
    ihdr = b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    return b"\x89PNG\r\n\x1a\n" + ihdr + tag.encode()


def mp4(tag: str = "") -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" + tag.encode()


def wav(tag: str = "") -> bytes:
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16)
    return b"RIFF" + struct.pack("<I", 36) + b"WAVE" + fmt + b"data\x00\x00\x00\x00" + tag.encode()


def pdf(tag: str = "") -> bytes:
    return b"%PDF-1.7\n%" + tag.encode() + b"\n%%EOF\n"


def text(tag: str = "") -> bytes:
    return f"plain text {tag}\n".encode()


def nifti(tag: str = "", *, compressed: bool = True) -> bytes:
    header = bytearray(352)
    header[0:4] = struct.pack("<i", 348)
    header[344:348] = b"n+1\x00"
    body = bytes(header) + tag.encode()
    return gzip.compress(body, mtime=0) if compressed else body


def docx() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def dicom(
    series_uid: str,
    instance: int | None,
    *,
    position: tuple[float, float, float] | None = None,
    description: str = "",
    series_number: int | None = None,
    padding: int = 0,
    directory: bool = False,
) -> bytes:
    """A DICOM Part 10 file (MR image storage, or a DICOMDIR with `directory`) with the series tags given;
    `padding` puts a private element of that many bytes before the series tags (header longer than one read)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.1.3.10" if directory else "1.2.840.10008.5.1.4.1.1.4")
    meta.MediaStorageSOPInstanceUID = UID(f"{series_uid}.{instance or 0}.{99 if directory else 1}")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.PatientName = "Demo^Patient"
    if padding:
        ds.add_new(0x00191010, "OB", b"\x00" * padding)
    if not directory:
        ds.SeriesInstanceUID = series_uid
        if description:
            ds.SeriesDescription = description
        if series_number is not None:
            ds.SeriesNumber = series_number
        if instance is not None:
            ds.InstanceNumber = instance
        if position is not None:
            ds.ImagePositionPatient = list(position)
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 2, 2, 16, 16, 15
        ds.PixelRepresentation, ds.SamplesPerPixel, ds.PhotometricInterpretation = 0, 1, "MONOCHROME2"
        ds.PixelData = b"\x00" * 8
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def for_key(key: str, tag: str = "") -> bytes:
    """A file fitting the key: by extension, DICOM inside a `dicom/` folder (one series per folder), else text."""
    import zlib

    name = key.rsplit("/", 1)[-1].lower()
    tag = tag or key
    if "/dicom/" in f"/{key}" and not name.endswith((".json", ".txt")):
        folder = key.rsplit("/", 1)[0]
        return dicom(f"1.2.826.0.1.3680043.8.498.{zlib.crc32(folder.encode())}", None, description=tag)
    makers = {".jpg": jpeg, ".jpeg": jpeg, ".png": png, ".mp4": mp4, ".wav": wav, ".pdf": pdf, ".nii.gz": nifti}
    for suffix, make in makers.items():
        if name.endswith(suffix):
            return make(tag)
    return text(tag)


def generated_bucket(n: int) -> dict[str, bytes]:
    """n objects as a backfill meets them: mostly single images across folders, some videos, image groups of 10
    (half with _READY), DICOM series of 5, and junk (data files, zero-byte uploads) that must end skipped."""
    image, video = jpeg(), mp4()
    files: dict[str, bytes] = {}
    i = 0
    while len(files) < n:
        dataset = "benchmark" if i % 4 == 0 else "production"
        kind = i % 50
        if kind < 40:
            files[f"{dataset}/cam{i % 7}/{i:07d}.jpg"] = image + str(i).encode()
        elif kind < 43:
            files[f"{dataset}/clips/{i:07d}.mp4"] = video + str(i).encode()
        elif kind < 45:
            for m in range(10):
                files[f"{dataset}/image-groups/g{i}/{m}.jpg"] = image + f"{i}/{m}".encode()
            if i % 2:
                files[f"{dataset}/image-groups/g{i}/_READY"] = b""
        elif kind < 46:
            uid = f"1.2.826.0.1.3680043.8.498.{i}"
            for m in range(5):
                files[f"{dataset}/dicom/s{i}/IM{m}"] = dicom(uid, m + 1)
        elif kind < 48:
            files[f"{dataset}/exports/{i}.json"] = b"{}"
        else:
            files[f"{dataset}/broken/{i}.jpg"] = b""
        i += 1
    return files

"""Seals a lathe artifact as docs/abi.md defines its content hash, independently of the
runtime's own code: SHA-256 of the whole file with the record's content_sha256 field zeroed,
written into that field. Used by tests/cli/run.sh (as a command) and tests/fuzz/make_seeds.py
(as a module).

usage: python3 tests/seal_artifact.py FILE.so   (seals FILE.so in place)"""
import hashlib
import sys

RECORD_MAGIC = b"LATHE\0AR"
HASH_AT = 176  # offsetof(lathe_artifact_record, content_sha256)


def hash_offset(data):
    """Offset of content_sha256 in the artifact bytes data."""
    return data.find(RECORD_MAGIC) + HASH_AT


def seal(data):
    """Writes the content hash into the record of bytearray data and returns data."""
    at = hash_offset(data)
    data[at:at + 32] = bytes(32)
    data[at:at + 32] = hashlib.sha256(data).digest()
    return data


if __name__ == "__main__":
    path = sys.argv[1]
    sealed = seal(bytearray(open(path, "rb").read()))
    open(path, "wb").write(sealed)

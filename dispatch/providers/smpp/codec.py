"""SMPP text and addresses: GSM-7 or UCS-2, concatenated parts with a UDH, TON/NPI of an address."""

from __future__ import annotations

import random
from dataclasses import dataclass

from dispatch.providers.base import ProviderError, SmsMessage
from templates.sms import SmsEncoding, sms_encoding

# GSM 03.38 basic character set, in code order (0x1B is the escape to the extension table).
GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_TABLE = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM7_CODES = {char: code for code, char in enumerate(GSM7_BASIC_TABLE) if code != 0x1B}

DATA_CODING_GSM7 = 0x00
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 140, 134  # octets: 70 and 67 UTF-16 units


@dataclass(frozen=True)
class EncodedSms:
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]  # short_message of each submit_sm, UDH included


def _units(text: str, encoding: SmsEncoding) -> list[bytes]:
    """One entry per character: its octets, which must stay together in one part."""
    if encoding is SmsEncoding.GSM7:
        return [
            bytes([0x1B, GSM7_EXTENSION_TABLE[char]])
            if char in GSM7_EXTENSION_TABLE
            else bytes([_GSM7_CODES[char]])
            for char in text
        ]
    return [char.encode("utf-16-be") for char in text]


def encode_sms(text: str, *, reference: int | None = None) -> EncodedSms:
    """Encode ``text`` for submit_sm: GSM-7 or UCS-2, split into concatenated parts when too long."""
    encoding = sms_encoding(text)
    units = _units(text, encoding)
    data_coding = DATA_CODING_GSM7 if encoding is SmsEncoding.GSM7 else DATA_CODING_UCS2
    single, per_part = (GSM7_SINGLE, GSM7_PART) if encoding is SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    whole = b"".join(units)
    if len(whole) <= single:
        return EncodedSms(data_coding=data_coding, esm_class=0, parts=(whole,))
    chunks: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > per_part:  # never split an escape or a surrogate pair
            chunks.append(current)
            current = b""
        current += unit
    chunks.append(current)
    if len(chunks) > 255:
        raise ValueError(f"text needs {len(chunks)} parts; SMS concatenation allows 255")
    ref = random.randint(0, 255) if reference is None else reference
    total = len(chunks)
    parts = tuple(
        bytes([0x05, 0x00, 0x03, ref, total, index]) + chunk for index, chunk in enumerate(chunks, 1)
    )
    return EncodedSms(data_coding=data_coding, esm_class=ESM_CLASS_UDHI, parts=parts)


def decode_short_message(data: bytes, data_coding: int, esm_class: int = 0) -> str:
    """The inverse of :func:`encode_sms` for one part (used for receipts and by the test SMSC)."""
    if esm_class & ESM_CLASS_UDHI and data:
        data = data[1 + data[0] :]
    if data_coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be")
    reverse_ext = {code: char for char, code in GSM7_EXTENSION_TABLE.items()}
    chars: list[str] = []
    escape = False
    for octet in data:
        if escape:
            chars.append(reverse_ext.get(octet, " "))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            chars.append(GSM7_BASIC_TABLE[octet] if octet < 0x80 else "?")
    return "".join(chars)


def address(value: str) -> tuple[int, int, str]:
    """(TON, NPI, address) of a sender or recipient."""
    stripped = value.strip()
    digits = "".join(ch for ch in stripped if ch.isdigit())
    if stripped.startswith("+") or stripped.startswith("00"):
        return 1, 1, digits[2:] if stripped.startswith("00") else digits
    if digits and digits == stripped.replace(" ", ""):
        return (3, 0, digits) if len(digits) <= 6 else (0, 1, digits)
    return 5, 0, stripped[:11]  # alphanumeric: at most 11 characters on the air interface


# smpplib writes the C-Octet String addresses as Latin-1, and their longest value (21 octets) is 20.
_ADDRESS_CODEC = "latin-1"
_ADDRESS_MAX = 20


def check_addresses(message: SmsMessage) -> None:
    """Raise a permanent ProviderError for a sender or number that cannot be written into a submit_sm.

    Rows registered before senders were validated can hold such a sender; finding it here fails that
    message alone, where smpplib's error would stop the batch.
    """
    for value, what, status in (
        (message.sender, "sender", "Failed_Rejected"),
        (message.to_e164, "recipient number", "Failed_InvalidRecipient"),
    ):
        _ton, _npi, written = address(value)
        problem = ""
        if not written:
            problem = "is empty as an SMPP address"
        elif len(written) > _ADDRESS_MAX or any(ord(char) < 0x20 or char == "\x7f" for char in written):
            problem = "is not a valid SMPP address"
        else:
            try:
                written.encode(_ADDRESS_CODEC)
            except UnicodeEncodeError:
                problem = "cannot be written as an SMPP address"
        if problem:
            text = f"the {what} {value!r} {problem}"
            raise ProviderError(text, permanent=True, status=status, raw=text)

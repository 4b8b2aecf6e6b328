"""IEC 62056-21 as pure code: codecs, stream decoding, data sets and the client session.

Nothing here does I/O, sleeps, reads a clock or logs: bytes and the current time go in
as arguments, messages, events and actions come out (the sans-I/O style of h11).
"""

from ._checksums import bcc, crc16
from ._constants import char_time, wire_time
from ._decoder import (
    NEED_DATA,
    Check,
    Frame,
    FrameDecoder,
    NeedData,
    Role,
    decode_frames,
)
from ._errors import (
    AuthenticationError,
    ChecksumError,
    FramingError,
    InvalidMessageError,
    ProtocolError,
    ProtocolTimeoutError,
    RemoteError,
    RetriesExhaustedError,
    SessionStateError,
)
from ._messages import (
    BREAK,
    Ack,
    Command,
    CommandKind,
    DataMessage,
    End,
    ErrorMessage,
    Identification,
    Message,
    Mode,
    Nak,
    OptionSelect,
    Request,
    UnframedData,
    normalize_address,
    push_telegram,
)

# -- data sets, OBIS codes, meter time and profiles --
# -- passwords and the client session (_passwords.py, _session.py) --

__all__ = [
    "BREAK",
    "NEED_DATA",
    "Ack",
    "AuthenticationError",
    "Check",
    "ChecksumError",
    "Command",
    "CommandKind",
    "DataMessage",
    "End",
    "ErrorMessage",
    "Frame",
    "FrameDecoder",
    "FramingError",
    "Identification",
    "InvalidMessageError",
    "Message",
    "Mode",
    "Nak",
    "NeedData",
    "OptionSelect",
    "ProtocolError",
    "ProtocolTimeoutError",
    "RemoteError",
    "Request",
    "RetriesExhaustedError",
    "Role",
    "SessionStateError",
    "UnframedData",
    "bcc",
    "char_time",
    "crc16",
    "decode_frames",
    "normalize_address",
    "push_telegram",
    "wire_time",
]

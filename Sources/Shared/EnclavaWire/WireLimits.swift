/// The fixed numbers of the Enclava wire protocol (DESIGN.md §2).
///
/// A ttrpc frame is a 10-byte header followed by a payload:
///
/// ```
/// bytes 0..3  payload length, u32 big-endian
/// bytes 4..7  stream id, u32 big-endian (client streams are odd)
/// byte  8     type (``FrameType``)
/// byte  9     flags (``FrameFlags``)
/// ```
public enum WireLimits {
    /// The size of a frame header in bytes.
    public static let headerByteCount = 10

    /// The largest payload accepted by default: 4 MiB. Larger frames are discarded as they stream in
    /// and answered with `RESOURCE_EXHAUSTED`.
    public static let defaultMaxFrameBytes = 4 << 20

    /// The request payload bytes one server connection may have unanswered by default: 64 MiB (16 full
    /// frames). Another request past it is answered `RESOURCE_EXHAUSTED` (`INFLIGHT_BYTES_EXCEEDED`).
    public static let defaultMaxInFlightBytes = 64 << 20

    /// The largest payload length the header can express.
    public static let maxEncodableFrameBytes = Int(UInt32.max)

    /// The first stream id a client uses; client stream ids are odd and increase by two.
    public static let firstClientStreamID: UInt32 = 1
}

import EnclavaCrypto

/// The Intel root that hardware SGX and TDX evidence (PCK chains, TCB Info and QE Identity signers, CRLs)
/// must chain to.
///
/// The certificate is Intel's production **Intel SGX Root CA** (self-signed, EC P-256, valid
/// 2018-05-21 … 2049-12-31), published at
/// `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`. Its SHA-256 fingerprint is
/// `44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3`, pinned in `IntelRootCertificateTests`.
/// Intel's QVL sample data uses a *test* root with the same name (fingerprint `842a5bcb…`); that one is
/// deliberately not trusted here.
public enum IntelRootCertificates {
    /// SHA-256 of the Intel SGX Root CA's DER encoding.
    public static let sgxRootCAFingerprint = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

    /// The Intel SGX Root CA.
    public static let sgxRootCA: Certificate = {
        do {
            return try Certificate(pem: sgxRootCAPEM)
        } catch {
            fatalError("the embedded Intel SGX Root CA does not parse: \(error)")
        }
    }()

    /// All Intel roots a hardware quote may chain to.
    public static var all: [Certificate] { [sgxRootCA] }

    static let sgxRootCAPEM = """
        -----BEGIN CERTIFICATE-----
        MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
        aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
        cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
        BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
        A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
        aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
        AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
        1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
        uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
        MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
        ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
        Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
        KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
        AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
        -----END CERTIFICATE-----
        """
}

import EnclavaCrypto

/// The root that AWS Nitro Enclaves attestation documents must chain to.
///
/// The certificate is AWS's **AWS Nitro Enclaves Root-G1** (`CN=aws.nitro-enclaves, OU=AWS, O=Amazon, C=US`,
/// self-signed, EC P-384, valid 2019-10-28 … 2049-10-28), the `root.pem` of the zip AWS publishes at
/// `https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip` (zip SHA-256 `8cf60e2b…ff7c`).
/// Its SHA-256 fingerprint is pinned below and checked against the embedded PEM in `NitroRootTests`.
public enum NitroRootCertificates {
    /// SHA-256 of the AWS Nitro Enclaves Root-G1's DER encoding.
    public static let rootG1Fingerprint = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

    /// The AWS Nitro Enclaves Root-G1.
    public static let rootG1: Certificate = {
        do {
            return try Certificate(pem: rootG1PEM)
        } catch {
            fatalError("the embedded AWS Nitro Enclaves Root-G1 does not parse: \(error)")
        }
    }()

    /// All roots a Nitro attestation document may chain to.
    public static var all: [Certificate] { [rootG1] }

    static let rootG1PEM = """
        -----BEGIN CERTIFICATE-----
        MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
        MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
        VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
        MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
        DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
        BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
        48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
        h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
        R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
        MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
        rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
        IwLz3/Y=
        -----END CERTIFICATE-----
        """
}

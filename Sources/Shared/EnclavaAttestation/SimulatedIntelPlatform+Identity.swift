import EnclavaCrypto

extension SimulatedIntelPlatform {
    /// The fixed values the simulated PCK certificate, quoting enclave and TD carry, and that the
    /// simulated collateral declares up to date. Plausible for a current Intel platform, but marked
    /// simulated where a value names a signer (the MRSIGNERs are digests of "Enclava simulated …" text).
    public enum Identity {
        /// FMSPC of the simulated platform (6 bytes).
        public static let fmspc: [UInt8] = [0x00, 0xE1, 0xC1, 0xA7, 0x00, 0x00]
        /// PCE-ID.
        public static let pceID: [UInt8] = [0x00, 0x00]
        /// The 16 SGX TCB component SVNs of the simulated PCK certificate (also its CPUSVN).
        public static let sgxTCBComponents: [UInt8] = [3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]
        /// PCESVN of the simulated PCK certificate.
        public static let pceSVN: UInt16 = 13
        /// SGX type in the PCK certificate: 1 (Scalable), as on TDX-capable Xeons.
        public static let sgxType: UInt64 = 1

        /// ISVSVN of the simulated quoting enclaves.
        public static let qeISVSVN: UInt16 = 8
        /// ISVPRODID of the SGX quoting enclave (`QE`), as Intel's.
        public static let sgxQEProdID: UInt16 = 1
        /// ISVPRODID of the TDX quoting enclave (`TD_QE`), as Intel's.
        public static let tdQEProdID: UInt16 = 2
        /// MRSIGNER of the simulated quoting enclaves.
        public static let qeMRSigner = SHA2.sha256(Array("Enclava simulated quoting enclave signer".utf8))
        /// ATTRIBUTES of the simulated quoting enclaves: INIT | PROVISIONKEY, XFRM x87 | SSE | AVX | AVX-512.
        public static let qeAttributes: [UInt8] = [0x11, 0, 0, 0, 0, 0, 0, 0, 0xE7, 0, 0, 0, 0, 0, 0, 0]
        /// QE authentication data (32 bytes, as in every real quote).
        public static let qeAuthData: [UInt8] = Array(0..<32)

        /// TEE_TCB_SVN of simulated TDs: module SVN 5, module major version 1, then the TDX components.
        public static let teeTCBSVN: [UInt8] = [5, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        /// MRSEAM of simulated TDs.
        public static let mrSeam = SHA2.sha384(Array("Enclava simulated TDX module".utf8))
        /// TD_ATTRIBUTES of simulated TDs: SEPT_VE_DISABLE (bit 28), **not** DEBUG.
        public static let tdAttributes: [UInt8] = [0, 0, 0, 0x10, 0, 0, 0, 0]
        /// XFAM of simulated TDs (x87, SSE, AVX, AVX-512, PKRU, AMX state as a current TD).
        public static let xfam: [UInt8] = [0xE7, 0x02, 0x06, 0x00, 0, 0, 0, 0]

        /// ATTRIBUTES of simulated SGX enclaves: INIT | MODE64BIT, **not** DEBUG; XFRM x87 | SSE | AVX.
        public static let enclaveAttributes: [UInt8] = [0x05, 0, 0, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0, 0]
        /// MRSIGNER of simulated SGX enclaves.
        public static let enclaveMRSigner = SHA2.sha256(Array("Enclava simulated enclave signer".utf8))

        /// `tcbEvaluationDataNumber` of the simulated collateral.
        static let tcbEvaluationDataNumber = 17
    }
}

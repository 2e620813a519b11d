import Foundation

/// Golden sentence embeddings of all-MiniLM-L6-v2 for the three texts (``texts``) of
/// `../shared/models/all-MiniLM-L6-v2/golden/tokenization.json` (that folder has none of its own).
///
/// Provenance: computed on 2026-11-27 with onnxruntime 1.32.0 (CPUExecutionProvider, 1 thread) and
/// numpy 2.4.6 by the script below (`python3 make_sentence_embeddings.py ../shared/models/all-MiniLM-L6-v2`),
/// which does what sentence-transformers does for this checkpoint (its `1_Pooling` is mean pooling, followed
/// by `Normalize`): the encoder on the Hugging Face token ids, mean pooling over the attention mask, L2
/// normalisation. The value is base64 of little-endian float32, shape [3, 384].
///
///     # Sentence embeddings of the three texts in golden/tokenization.json, as sentence-transformers computes
///     # them for all-MiniLM-L6-v2: onnxruntime (CPUExecutionProvider) on model.onnx with the Hugging Face token
///     # ids stored in tokenization.json, mean pooling over attention_mask (clamped at 1e-9), L2 normalisation
///     # (norm clamped at 1e-12). Prints base64 of the float32 little-endian [3, 384] result.
///     import base64, json, sys
///     import numpy as np, onnxruntime as ort
///     root = sys.argv[1]  # ../shared/models/all-MiniLM-L6-v2
///     tok = json.load(open(f"{root}/golden/tokenization.json"))
///     ids = np.array(tok["input_ids"], dtype=np.int64)
///     mask = np.array(tok["attention_mask"], dtype=np.int64)
///     so = ort.SessionOptions(); so.intra_op_num_threads = 1
///     sess = ort.InferenceSession(f"{root}/model.onnx", so, providers=["CPUExecutionProvider"])
///     hidden = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask,
///                                               "token_type_ids": np.zeros_like(ids)})[0]
///     m = mask[:, :, None].astype(np.float32)
///     pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
///     emb = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
///     print(ort.__version__, np.__version__, emb.shape, file=sys.stderr)
///     print(base64.b64encode(emb.astype("<f4").tobytes()).decode())
///
/// A text embedded alone gives the same vector as in the padded batch: padding is masked out of both
/// attention and pooling. Used by the EnclaveInference pipeline tests and the end-to-end MiniLM tests.
public enum MiniLMGolden {
    /// The texts of `golden/tokenization.json`, in order.
    public static let texts = [
        "A patient record: blood pressure 140/90, prescribed lisinopril 10mg daily.",
        "Wire transfer of $9,950 to an account opened yesterday.",
        "Privileged & confidential \u{2014} attorney-client communication re: merger (draft #3).",
    ]
    /// Embedding width.
    public static let width = 384
    /// Shape of ``values``.
    public static let shape = [3, 384]

    /// All golden embeddings, row-major [3, 384].
    public static var values: [Float] {
        let bytes = [UInt8](Data(base64Encoded: base64.filter { !$0.isWhitespace })!)
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// Row `index` of the golden embeddings.
    public static func embedding(_ index: Int) -> [Float] {
        Array(values[(index * width)..<((index + 1) * width)])
    }

    static let base64 = """
        ajyGve0lqjs6wIS9mekDvDNvMr1dk/K7GFKWPTxSkT120cG8F2e4vaqJCz1YtQu8V7OSPNdDLDxqkdu843LBvOtX0zxf+DO8ddAy
        vVeBO7t/DGw8nQ66PU2ZCj2pPxs96MiZvZDPhDxXUMy8pMnWvMN1pz1lLcQ8IsuRPM8RVj2xXBM6+e+KPMUxW7ncSDy9VbBgvQ7J
        Hr2MGLC8BfeBPfN/xzyo1kK9IynavS4hPTydpCy9TFY+PXJ3mTvJC848zbKPPKR9Mz4joWW7wekQPQau7bwTL3e8jGkpu10Vbb0b
        Ba29MbMMPWyimD2q6aU8tNwNvdN2uj3qJt28ymPzPO+c373Xu5w9Cl2NPCyqRL1iQSA+oHmWvCJkmD0DVxe8U38mPaD6MD2Q7IG8
        RxoEvsQ/4Tzy8rK9La14vXQWAr2TAh+9cdytvKod6LsRuCg9YyQJPBfOQb2MWgy9PzTpPeNGfT3l4jU8vk1HO+G/xzuUT6M8Hjwv
        vYWtxT3p4p49QLyZvQdq8LxwNwS+O3Zfu7xfVT234lc9iC2Jvb1kET0LXM48vCqKvY4Ozj0vz5C8HV7DvXiINrxE3ZY93rNCPToL
        Dj2GCGC9sFfBPORARr2MWNc8okvxuwbu9bzyeXw95pRePJfrlzuH/rC8KOTXvFoIhjyGpI488fglvEoSggZaDwu7NZJTPeniPDyX
        Pro7kLgFvYgSST2eGfO8YmoEPapYDLz1wFG91rUpPQm/4L0Nk4q9IBpqPR2usL1SFca7yKScPKZZpz2QzpM8ToBhPXaC1zzSnMk8
        qI8BPUB74jxjltS8eB7GPYNEWz2dQrQ9zLeCPaXCDby7IIo9WI58vdJbD7zlC4+9bIv0vFCSBD2/DJ28eK/QPDE4gbwn7ES8MBwJ
        PaBM+D1rmCC9ZyCzOzehlj3WGDi7NnaMvftPUDvDk1S94ixgvCZVbzu1U5S8p6lRvbKkEz02z0W9zP8DPLiKNb02zEK8NsYAO8u2
        xbt/0Do+k+EVPTeGuTx+cPc87BZWPc6GCz0trz29WKeNvW7aFL2sY9u78mnAvEvN5L2L9aO8baxmPbGY/LqDmBo9ZHcMvVo6Br2j
        07W7NQIZvD4XwjwbjAC8AWGcPbnZbT2ZMVC8qZ84vZdoAr22BTI9IAOzvecihb0XVHw94FWuvfunNrzO4SC9McBKvaBk6oj6F0u9
        gzFXPaE3Mr23k+48PgldvDPv9bzQqMi8MLtZvd84Pj3/VnY9ZYOBPS3+vrzs9Iw8dOLYvKWTDL04KM89N2WZPCzOoL04U469Ov3W
        PNrIsb3RZlO944GgPQIVkD2IQCw7p+yIu0ILlLugBpK80RnDPKeE5bzr1228lxxBvZUFlr2/7I69/rR9vRolIb0BtQq9PBg6O7N9
        MLxxvl+9H93yPGte57uZ/vg8hXJfvfE8Gb1XvqA9SCFtPcPr5r1uixi8BF+NOlJEor1PL249As7WO0THjTwB7Ig8zfKOvbcVmr1p
        06w9VxKHu8ecp7wygh49JI6HPZmF/rwcZhU8xISCPOYBqD1bfNA8UPKCPdpJKzyPyaa8VO4hPU0hFz0wHjM99VmyvFiznr1dKAc9
        pm2tPcnQSzqyPyE9ttVCuxRFOL0XMbK9ZehvvTRp3j2XTAK+AAotvfDBJj3Hnbo8zBA8Pc1oEz2XRUW9LSZUvaU9or0EHIC8EtWb
        PXxPu7LtHpi9k6eSOz5VFTw5Ysu8EUqcvdj91TxMNby8EqR4Pf8/Ir0XY9478m6RPV1dzLxjh6g8OYUGvXB//bw2cxO9w6KAPAu1
        Pz1B2YA9z+gJvUJcJz2XQnq8/4tEvJLHVTwdTws8QDWHPNZwwLsupgy9yykMPdFqhL0GoW09SdUJvRAuPDy8GLW903LJPLkPHLzX
        LP6803DSPN9hzD2qT489LEO4u2zdvLvdbg880aY7PQmHd7zZ/g89Ho+HPXI+pzseZ468GAzrvDqujz3chK89lV7tPGpetr1440u9
        WJMiPVqDDbzCA3G9lhpsvf9vlL2olFq8/lugvINW670kQyA9H1VevTtBEDvesQi7voniukcZmDwMWXk65LmmPZeb0T36pf28vPw/
        OmXW+zzv3tC7r+3dvDooBTxbDKa9GiESvXAXlryGzpW9dtpJvdo0IzssPuq7pV76vKV5U72DFpS9u1ARPhK/Mz3layg8644MvFT4
        n70cTzC86QK1vVfMHr3HITa+qaH3vBqT2zpmeuA8qVkYvLuh+jzVfrE8A3o2vSR7CT1Kaly9eJLzPMoPlbv7dZq95miaPQo2Rz2K
        sok9arfhO7tRMz2fEcQ8PaeCvHPfqztQBaE9tuv1PLZsejuq29Q9foCNvf6qVTxBfCM87wjVvG0CXD0IBda7I0EHPPATyjpJUoy6
        0a2bvSgdBL1bFP67cw/EvUZtlj3xZmK7nCXXvceRKL35gYw8iKVbPZB5rj21A0A9QBEKvbz5IT1fOAs9O6HxPCUKMb0UEie92fB+
        PC57pz1QIlI9HQwfPeDsGr19hC69oftWPSpNeD2a6o48K85nvKqDcb3XNV69kRG4vT4lrbxMsdA8Bc0XPRUv1D2CVUY9Pnglu/DZ
        FT3ErLQ95MUlPS3ijT0CXK88NWUdvQoUWL2tHVy9D6P1vIsAcbxZZAS9d8WzOxTP3jzpNQO+aGhFPcxCeLuNqIg95RAtPdEqhT0s
        Hw28Jdp9vOi+Tb3VL3U8q9RbPPF+Zon3FAW9TVmlPVZwYLy1wke7xMoPvEiObTzeco68CjA+Pfi4Gb0zGbA9lRHcvfKs8Dzb/Qy9
        CBuxPaTDxL2JFp29tXzNPHy94bvOngU+ULo2PTQzwTy8uCW8ZkaMPeOyqjwUiKa8lYAnPBu9nL2+5+28x7OEPWSSIL1daD29p+k2
        vV3evj1yWQ08jMyDOtCtlj0Q7tY9ysbcvUfZ0D3iODa9t280PbflJ7ryyow8q4zZvLwXGbzVJU893teRPBmGDr3+grC86pahO+Oo
        kr2j4Vq9BQW5vBPTyLoBy0O9qPuRvd0iaj0wgYI8cQ5RvDxGyjzBBXE9e8+qPZElO71q8qW8BIqeveWKQL3JZBo9O8+IvBzNZL2G
        9F69s4pcvWE5izx/jls9qYfWuuwJPz0sI7k7RTa2vGZqnzzB1wI+r+wOPXYqVT1/BO866Lt/PAx90zwx7/A8GsGaPSPUkryDapA8
        obBEvcGucz0ONIQ9phavPSbLDTwhg+A8wqmwPR5dvAhl8Eq9rTm2O4Rhk7ww0bW80ArMvMe627yRQpA8vklZPUyYKb2qKVQ9DedS
        Pcdbj7v6skA9+Rt8vfKgiT1vj9m9R9IhO4dDDD17Mwo9r97pvLzAGzxs1UU9XWc4PbChLb2GDCM9HUe7u2dAujwC9DA9Qs8QvWBo
        7jzWPqC8/sB7vd4sirwSoPo9kLufvB4YN7vW0fI9D1/SPDBzmj0+Ar+8gKbVOyWuL7wR1OE7sGgJvd42YbxOyQY9bJHAvTSvx71a
        lDu8PmWcPPruHL2WZKM8nM98uVvj87vSA0m9cXTTPVsT3z21rES8BXyePYV9i715Uwo8alQEPd3Pnr16HNi8z6xAPDuAbzwWBog9
        bQZjvYnAYz28NTi9pFRDvKuy8LwJptI8B4CRvX6zLb0Rrwo9zt6FvLHDPrwueCc90uEkPA8yVLtwbd+8Lv1kPQFfi71X9JU9otQe
        va7PVj1LMYq8AaADPTKppbyIG729/vyOvWiwQT1pGBS9O+61vVuipbLE7pm7KGeWPFPxID0g9Ve8+EY2PZUzAz0s37A8j9BSPPb2
        dr0HQw49PeEAvQ/xCj04pDi9OrjtO5zDQ72pZT29VP43PVlldL0zMHY9UaoIPB3KjbwYHnE9mShNvIsilruxH8O9WnKbvNG2sbvD
        HzM+0nRTPWZnm71Nfza8fgrVPFAeQb394kY8j0ecveug07tDX0+9I2sCPbjFD71fJWO8HuWxPHl3FL3cqGG9mkwUvRMHvTzVArY8
        wgPDvXPSEr2Nckw9EGhRvSX/eT0Nb8a7LxFfvGINPD0Od0S87qvMvaiG27xPhM08XVrbvdJgRj3tFXC9oQEUvJb9l71B2Jq9/NuB
        ve9bnj3yl5y8dpOavQFKhr2Ofhw9dNSUPRhJrzyy3k09W1tIvUB/gzsPL6o9dOByPEcaxLzQvzM9cpMfPVEegz28UVW7R12ovdhp
        nDyD/q29MolAPCp64LxZZbc8/rlKPZRK07zzUBQ825BKvCdaDr39tsW8tPTAu2NTzDwZ25w8lSGUPF2oMzzNhU091bsFPbGVojrD
        TM48aD/xO+0Ogbws7oC9yY6QvW2aNj3LP2e92WlzPOjePz26p2E9b51zvR2YTT1UymK88b5evcazqLzEc888TbCXveLmfDxzrKy8
        8FUzvYJEZ7zPNXk9pWOYvXvKqj38HgC90du1PYbqtzyZ96S8WAhjPfQSFj0dLKa98OCtva1y97uJpwC9YvZ6O8s40bwQgdS8Q5aY
        vMWfhrwhiFA9Mmw7PeSesb2I8EU9FYv3PGAWib3NRVo82xe9vV594DzOM6g8QbPkvOs/iTwrKss7LN2wvHlyYL2kYcw9x3s0vVCg
        JjwqwTU9cn1ivadHeL3hima7/bCBPYGJRb2WYMG8yBfLO/hNmb10Kz+95WcAvW7uOr0DOt67IKZsu2uTsD3mseA8+Wmdu8mENb1l
        aVO8OIIzPVoyrT0HD7q9kqizPftn0T2Zhba9EIIVvb3A0z3xflW8tqi4POWafL2jJnU8+H59vRvop4kLvEK9RIMSPZkYA73eOhQ+
        91eCPcNoRD3Xlsq7Gm0gvWXmqb0F5K47OW02PND1Mz1mNbo97auSvUi2Ub2Kp048IUUEvc1bND0boUE9TmKXvHQn6TyPSqc9atn5
        u9HmJj6riHm84coYvclHijw3RmW9AjGJPc95pLr0w0S91dPLPAHm1z0pVl89/HRdPfgnhz3mqBW9QRjmvS+gnTzMcdi8SHYFuv78
        Qb136pe7jZteva+iWroxHJc7lFr5vIpSgzxsR7E7uEXlPCak+7yX/+k8qRSGu+DqdDw/LTM84Eg+vVsnhb3k9Dc9eJ5FvFUeIbzM
        vvS71LfZPStWmrzAcV4790D9vLL29bw4hV69z9gYPXLomz1QxxK+lglZvE0qAT2udYQ9TpZEPZFAUb3i/JG9hIdDvUVzcD0d8wM+
        peNduwiydL1aa6M91gxgPUP1mT0qwes8VZsJvUAL4LteFm29PMmJvQBosT1RuXK9+PfaPBLZUTwoFKE9XUWePSwNZoYSysW8OMOi
        vQOSujv9GpM7VR7pvIKHqb1HGAS9nJDyO059Qb1Hm+C8IL8PveWiuTw+9PS8oJlPvYKzKr3WIQK962h9PN3sBb21ysA8yfL4u7Ij
        uz1XHyO9LOl/PYvZyD0SWFg9at1pvUV2/DyNDgu98dlsPdF1nbr5fV68f6AkvU2Tq71oKDG5ni5YvUkmir2XFiI9mV6DvQm8QL0k
        Clu9ZvYUPQ+n0Thv/mo8syQgPVkuUjx+ysK77wpIvFh9o708zCg9vwfPvaNuV7xIl4i7imFoPRUTDL0xicC9RtqJOtPRND7XZ928
        oBigPYw7E72uNxo+y1lMPeIex7p2ZRY9AYo/PeVcvrzI6/28pc1xPXlA9bxpB9Q7xjE6PMRiEL4jEvu8Mi4Ovqs5qD2cG6q8uYHe
        O5TZn728Z/W9aaWnPPSvAjya4fy8BkS1vOLm5D22C2M8NmiuPO1KjD3uZEe9OWrxPKmspDzjtZm9DrXcvKhCCb3FjYs82XxVvIFi
        w7KLqQy9/E6CPa9wPbqcOSu9blJIPVsWPLwVAte9KmQCvMGSFD2eC708JQ4nPJmqhb1dU5m93ESHuzsnNT0dvpe8duRmvdDpCD0s
        L1K8vEIrve2diL2Cc7s8WBoavOnpgrx45AC8Y6jvPL0NuLxe1tc8a+0WPHuxGD0iKYe9XCG6N8stKT1fKug87bOhvcGqgL0qjBy9
        t/QJPY8OWzxl0Qm7imEpvUYo9zzJ/Do9yTt4Pd0q/TwXg6m7UGUXPGKN5Ts4a5s8Mh5suyZgbzwmDIe8Gq8xPeGAwDtRS408y61A
        PTUNAT1DTm49XXPfOyHB37wWEhc9y/8gPYo/Fb3AFto8
        """
}

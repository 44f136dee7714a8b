import Crypto
import Foundation

/// Node secrets: random, shown once to the child, kept only as a hash at the parent.
public enum Secrets {
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Constant-time comparison of a presented secret with a stored hash.
    public static func matches(_ secret: String, hash stored: String) -> Bool {
        let presented = Array(hash(secret).utf8), expected = Array(stored.utf8)
        guard presented.count == expected.count else { return false }
        return zip(presented, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The key that seals offline bundles on a link, derived from the node secret (or, for a
    /// registration, from the registration token); hex, 32 bytes.
    public static func bundleKey(_ secret: String) -> String {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)),
                                         salt: Data("tributary bundle v1".utf8), info: Data("bundle key".utf8), outputByteCount: 32)
        return key.withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }.joined()
    }

    /// A child's secret derived from its registration claim with the parent's own key: asked
    /// again with the same claim, the parent answers with the same secret.
    public static func claimed(_ claim: String, node: String, key: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data((node + "\n" + claim).utf8), using: SymmetricKey(data: Data(key.utf8)))
        return Data(code).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

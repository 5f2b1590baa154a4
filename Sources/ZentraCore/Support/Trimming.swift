import Foundation

extension StringProtocol {
    /// `trimmingCharacters(in:)` without Foundation's bridge to `NSString` when neither end is in
    /// `set`, which is nearly every field of a request or a clearing file (the bridge was a
    /// fortieth of a clearing file's time).
    public func trimming(_ set: CharacterSet) -> String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last, set.contains(first) || set.contains(last) else {
            return String(self)
        }
        return trimmingCharacters(in: set)
    }
}

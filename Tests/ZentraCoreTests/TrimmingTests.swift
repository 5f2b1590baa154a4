import Foundation
import Testing
import ZentraCore

@Suite struct TrimmingTests {
    /// The fast path answers what Foundation answers, also for Unicode spaces at either end.
    @Test func trimmingAgreesWithFoundation() {
        let pieces = ["", " ", "\t", "\n", "\u{00A0}", "\u{2003}", "a", "é", "clr-1", " x ", "🙂", "\r\n"]
        for set in [CharacterSet.whitespaces, .whitespacesAndNewlines] {
            for a in pieces {
                for b in pieces {
                    for c in pieces {
                        let text = a + b + c
                        #expect(text.trimming(set) == text.trimmingCharacters(in: set), "\(Array(text.unicodeScalars))")
                    }
                }
            }
        }
    }
}

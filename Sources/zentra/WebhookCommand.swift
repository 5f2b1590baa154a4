import ArgumentParser
import Foundation
import ZentraClient

/// `zentra webhook verify`: checks a captured delivery offline with the SDK's verifier, the same
/// check a receiver built on `ZentraClient` makes.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "webhook", abstract: "Webhook tools.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a webhook delivery (Standard Webhooks) read from standard input; exits 1 when it does not verify.")
        @Option(name: .customLong("secret"), help: "The endpoint's whsec_ secret; repeat it for the old and new secret during a rotation.")
        var secrets: [String]
        @Option(name: .customLong("header"), help: "A header of the delivery as 'name: value' (webhook-id, webhook-timestamp, webhook-signature).")
        var headers: [String]

        func run() async throws {
            var fields: [String: String] = [:]
            for header in headers {
                guard let colon = header.firstIndex(of: ":") else { throw ValidationError("a header is 'name: value': \(header)") }
                fields[String(header[..<colon]).trimmingCharacters(in: .whitespaces)] =
                    String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
            let payload = FileHandle.standardInput.readDataToEndOfFile()
            do {
                try Webhook(secrets: secrets).verify(payload: payload, headers: fields)
            } catch {
                FileHandle.standardError.write(Data("not verified: \(error)\n".utf8))
                throw ExitCode(1)
            }
            print("verified")
        }
    }
}

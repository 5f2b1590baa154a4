import Foundation
import Yams

/// The published contract: `openapi.yaml` shipped with the server, also served as JSON.
public struct OpenAPIDocument: Sendable {
    public let yaml: [UInt8]
    public let json: [UInt8]

    public static func load() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        let object = try Yams.load(yaml: text) ?? [:]
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return OpenAPIDocument(yaml: Array(text.utf8), json: Array(json))
    }

    /// Every (method, path) pair the document describes, paths in `{param}` form.
    public func operations() throws -> Set<String> {
        guard let root = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let paths = root["paths"] as? [String: Any]
        else { return [] }
        var result: Set<String> = []
        for (path, item) in paths {
            guard let methods = item as? [String: Any] else { continue }
            for method in methods.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                result.insert("\(method.uppercased()) \(path)")
            }
        }
        return result
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import ZentraCore
import ZentraStorage

/// The console's templates (Mustache, in `Resources/console`) and the small formatting the pages
/// share. Values reach templates as a typed page (`ConsolePages.swift`) of strings, numbers and
/// booleans; `{{…}}` escapes HTML, and the
/// only unescaped value, the spend chart, is SVG drawn here from numbers. Pages load only the
/// console's own CSS and script (`default-src 'self'`: no inline script or style runs).
public struct ConsoleViews: Sendable {
    let library: MustacheLibrary
    /// The console's static files by name (`console.css`, `console.js`).
    let assets: [String: String]

    public static func load() throws -> ConsoleViews {
        guard let directory = Bundle.module.url(forResource: "console", withExtension: nil) else {
            throw StartupError(message: "the console templates are missing from the bundle")
        }
        var library = MustacheLibrary()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".mustache") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            try library.register(text, named: String(file.dropLast(".mustache".count)))
        }
        var assets: [String: String] = [:]
        for name in ["console.css", "console.js"] {
            assets[name] = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return ConsoleViews(library: library, assets: assets)
    }

    /// A page: its template filled with `body`, inside the frame with the signed-in session's header.
    func page<Body: ConsolePage>(_ body: Body, title: String, session: ConsoleSession?, query: String = "", notice: String? = nil,
                                 status: HTTPResponse.Status = .ok) -> Response {
        let header = session.map { ConsoleFrame<Body>.Session(actor: $0.principal.actor, role: $0.principal.role.rawValue) }
        let frame = ConsoleFrame(title: title, query: query, notice: notice, session: header, csrf: session?.csrfToken, page: body)
        let html = library.render(frame, withTemplate: Body.template) ?? "template \(Body.template) is missing"
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func money(_ minor: Int64, _ currency: Currency) -> String {
        let exponent = currency.exponent
        guard exponent > 0 else { return "\(minor) \(currency.code)" }
        var scale: Int64 = 1
        for _ in 0..<exponent { scale *= 10 }
        let magnitude = minor.magnitude
        let fraction = String(magnitude % UInt64(scale))
        let padded = String(repeating: "0", count: exponent - fraction.count) + fraction
        return "\(minor < 0 ? "-" : "")\(magnitude / UInt64(scale)).\(padded) \(currency.code)"
    }

    static func money(_ minor: Int64, code: String) -> String {
        Currency(code: code).map { money(minor, $0) } ?? "\(minor) \(code)"
    }

    static func time(_ timestamp: Timestamp?) -> String {
        guard let timestamp else { return "" }
        let text = timestamp.description
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    static func pretty(_ bytes: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: data, as: UTF8.self)
    }

    /// A bar per day, drawn on the server: the SVG text has numbers and fixed labels only.
    static func spendChart(days: [Int64], amounts: [Int64: Int64], currency: Currency) -> String {
        let width = 720, height = 220, left = 70, bottom = 30, top = 20
        let plotWidth = width - left - 10, plotHeight = height - bottom - top
        let peak = max(amounts.values.max() ?? 0, 1)
        let slot = plotWidth / max(days.count, 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Approved spend per day\">"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - 10)\" y2=\"\(top + plotHeight)\" stroke=\"#c9ced8\"/>"
        svg += "<text x=\"\(left - 6)\" y=\"\(top + 4)\" text-anchor=\"end\" font-size=\"11\" fill=\"#6b7385\">\(money(peak, currency))</text>"
        for (index, day) in days.enumerated() {
            let amount = amounts[day] ?? 0
            let barHeight = Int(Double(amount) / Double(peak) * Double(plotHeight))
            let x = left + index * slot + slot / 6
            svg += "<rect x=\"\(x)\" y=\"\(top + plotHeight - barHeight)\" width=\"\(slot * 2 / 3)\" height=\"\(barHeight)\" fill=\"#2452c7\">"
            svg += "<title>\(time(Timestamp(microseconds: day * 86_400_000_000)).prefix(10)): \(money(amount, currency))</title></rect>"
            let label = String(time(Timestamp(microseconds: day * 86_400_000_000)).prefix(10).dropFirst(5))
            svg += "<text x=\"\(x + slot / 3)\" y=\"\(height - 10)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#6b7385\">\(label)</text>"
        }
        return svg + "</svg>"
    }
}

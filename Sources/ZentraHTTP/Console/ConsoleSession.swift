import Foundation
import HTTPTypes
import Hummingbird
import ZentraApp
import ZentraCore
import ZentraStorage

/// The console's session handling: an HttpOnly, SameSite=Strict cookie holding a random token whose
/// SHA-256 names a session row; the row names the API key that signed in, so revoking the key or
/// passing the expiry ends the session on every process. Every form carries the session's CSRF
/// token, and `ConsoleForm.read` is the only way a console handler reads a form.
enum ConsoleCookies {
    static let session = "zentra_console"
    /// The sign-in form's CSRF token before there is a session (double submit).
    static let signIn = "zentra_console_signin"

    static func cookie(_ name: String, _ value: String, maxAge: Int, request: Request) -> Cookie {
        // Behind a TLS-terminating proxy the cookie is also Secure.
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return Cookie(name: name, value: value, maxAge: maxAge, path: ConsoleRoute.prefix, secure: secure, httpOnly: true, sameSite: .strict)
    }
}

/// Resolves the session cookie for every signed-in console page; without a live session a page
/// redirects to the sign-in form. Errors become an HTML page (never the API's JSON).
struct ConsoleSessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store
    let views: ConsoleViews

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.cookies[ConsoleCookies.session]?.value, !token.isEmpty, token.count <= 100,
            let session = try await ConsoleSessions.find(tokenHash: ConsoleSessions.hash(token), now: store.clock.now(), engine: store.engine)
        else {
            return Response(status: .seeOther, headers: [.location: ConsoleRoute.login.path])
        }
        var context = context
        context.principal = session.principal
        context.consoleSession = session
        context.logger[metadataKey: "tenant"] = "\(session.principal.tenant)"
        do {
            return try await next(request, context)
        } catch {
            let domain = ErrorMapping.domainError(for: error, logger: context.logger)
            let status = ErrorMapping.status(of: domain.kind)
            let heading = status == .notFound ? "Not found" : status == .forbidden ? "Not allowed" : "That did not work"
            return views.page(ErrorPage(heading: heading, message: domain.message), title: heading, session: session, status: status)
        }
    }
}

/// A console form: its fields, once the CSRF token it carries matched the session's (403 otherwise).
enum ConsoleForm {
    static let body_max = 64 * 1024

    static func read<T: Decodable>(_ request: Request, _ context: AppRequestContext, as _: T.Type = T.self) async throws -> T {
        let text = String(buffer: try await request.body.collect(upTo: body_max))
        let fields = try URLEncodedFormDecoder().decode([String: String].self, from: text)
        guard let expected = context.consoleSession?.csrfToken, let presented = fields["csrf"],
            constantTimeEqual(Array(presented.utf8), Array(expected.utf8))
        else { throw DomainError.forbidden("The form's CSRF token is missing or does not match this session; reload the page.") }
        do {
            return try URLEncodedFormDecoder().decode(T.self, from: text)
        } catch {
            throw DomainError.invalidRequest("The form is incomplete.")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

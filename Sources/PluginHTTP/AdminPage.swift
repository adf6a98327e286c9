/// The admin page served at `GET /_plughost/`: one self-contained HTML document (inline CSS and
/// script, no external assets) that renders `GET /_plughost/plugins` and refreshes it every few
/// seconds. Its text lives in `Resources/admin.html`, embedded in the executable.
enum AdminPage {
    /// The page's bytes, served as `text/html; charset=utf-8`.
    static var html: String { String(decoding: PackageResources.admin_html, as: UTF8.self) }
}

import Mustache

/// The UI's Mustache templates, compiled once. A page's template renders its body; the layout
/// wraps it (navigation by the key's permissions, the sign-out form, flashes).
struct UITemplates: Sendable {
    static let shared = UITemplates()

    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in UITemplateText.all {
            do {
                try library.register(text, named: name)
            } catch {
                // The templates are part of the code: a test renders every one.
                preconditionFailure("UI template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    /// A whole page: `template` with `data`, inside the layout.
    func page(_ template: String, title: String, data: [String: Any], page: UIPage?, flashes: [UIFlash]) -> String {
        var layout: [String: Any] = [
            "title": title,
            "flashes": flashes.map { flash -> [String: Any] in
                var shown: [String: Any] = ["kind": flash.kind.rawValue, "message": flash.message, "problems": flash.problems, "hasProblems": !flash.problems.isEmpty]
                if let secret = flash.secret { shown["secret"] = secret }
                return shown
            },
        ]
        var data = data
        if let page {
            let can: [String: Any] = [
                "viewDestinations": page.grants(.viewDestinations), "manageDestinations": page.grants(.manageDestinations),
                "activate": page.grants(.activateDestinations), "manageKeys": page.grants(.manageKeys),
                "viewProfiles": page.grants(.viewProfiles), "viewSegments": page.grants(.viewSegments), "admin": page.grants(.admin),
            ]
            layout["signedIn"] = true
            layout["keyName"] = page.session.keyName
            layout["csrf"] = page.session.csrfToken
            layout["can"] = can
            layout["nav_" + template] = true
            data["csrf"] = page.session.csrfToken
            data["can"] = can
        }
        layout["refresh"] = data["refresh"] as? Bool ?? false
        layout["body"] = self.library.render(data, withTemplate: template) ?? ""
        return self.library.render(layout, withTemplate: "layout") ?? ""
    }
}

// swift-tools-version: 6.0
import PackageDescription

// A client generated from the host's own OpenAPI document (/_plughost/openapi.json) by
// swift-openapi-generator's build plugin, calling the calc example through it.
// check.sh downloads the document of a running host into Sources/CalcClient/openapi.json
// (not committed: it is the host's at test time), builds this package and runs CalcClient.
let package = Package(
    name: "OpenAPIClient",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", exact: "1.13.4"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession", exact: "1.4.0"),
    ],
    targets: [
        .executableTarget(
            name: "CalcClient",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
    ]
)

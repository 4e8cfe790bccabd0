import Testing

@Suite("API versions and describe")
struct VersionsAndDescribeTests {
    @Test("GET /services/data/ lists v31.0 to v66.0 without auth or limit header")
    func versionListing() async throws {
        try await withEmulator { org in
            let answer = try await org.send(.GET, "/services/data/")
            #expect(answer.status == 200)
            #expect(answer.limitInfo == nil)
            let versions = answer.array
            #expect(versions.count == 36)
            #expect(versions.first?["version"] as? String == "31.0")
            #expect(versions.first?["label"] as? String == "Summer '14")
            let newest = try #require(versions.last)
            #expect(newest["version"] as? String == "66.0")
            #expect(newest["label"] as? String == "Spring '26")
            #expect(newest["url"] as? String == "/services/data/v66.0")
            #expect(versions.first { $0["version"] as? String == "65.0" }?["label"] as? String == "Winter '26")
        }
    }

    @Test("every served version answers; others are NOT_FOUND", arguments: ["v31.0", "v45.0", "v62.0", "v66.0"])
    func servedVersions(version: String) async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let answer = try await org.send(
                .GET, "/services/data/\(version)/sobjects/Contact/describe", headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(answer.status == 200)
            for unknown in ["v30.0", "v67.0", "v66", "latest"] {
                let missing = try await org.send(
                    .GET, "/services/data/\(unknown)/limits/", headers: [("Authorization", "Bearer \(token)")]
                )
                #expect(missing.status == 404)
                #expect(missing.errorCode == "NOT_FOUND")
            }
        }
    }

    @Test("Contact describe has Salesforce's field metadata")
    func contactDescribe() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let answer = try await org.rest(.GET, "/sobjects/Contact/describe", token: token)
            #expect(answer.status == 200)
            #expect(answer.object["name"] as? String == "Contact")
            #expect(answer.object["label"] as? String == "Contact")
            let fields = try #require(answer.object["fields"] as? [[String: Any]])
            func field(_ name: String) throws -> [String: Any] {
                try #require(fields.first { $0["name"] as? String == name })
            }
            let lastName = try field("LastName")
            #expect(lastName["type"] as? String == "string")
            #expect(lastName["length"] as? Int == 80)
            #expect(lastName["byteLength"] as? Int == 240)
            #expect(lastName["nillable"] as? Bool == false)
            #expect(lastName["defaultedOnCreate"] as? Bool == false)
            #expect(lastName["createable"] as? Bool == true)
            let name = try field("Name")
            #expect(name["calculated"] as? Bool == true)
            #expect(name["updateable"] as? Bool == false)
            #expect(try field("Email")["type"] as? String == "email")
            #expect(try field("Email")["length"] as? Int == 80)
            #expect(try field("Phone")["type"] as? String == "phone")
            #expect(try field("FirstName")["length"] as? Int == 40)
            #expect(try field("Title")["length"] as? Int == 128)
            #expect(try field("AccountId")["type"] as? String == "reference")
            #expect(try field("Id")["type"] as? String == "id")
            #expect(try field("IsDeleted")["updateable"] as? Bool == false)
            #expect(try field("CreatedDate")["type"] as? String == "datetime")
            for entry in fields {
                for key in ["name", "label", "type", "length", "byteLength", "updateable", "createable", "nillable",
                            "custom", "externalId", "unique", "defaultedOnCreate", "calculated", "filterable",
                            "sortable", "htmlFormatted", "extraTypeInfo"] {
                    #expect(entry.keys.contains(key), "\(entry["name"] ?? "?") lacks \(key)")
                }
            }
        }
    }

    @Test("Lead describe requires Company and defaults Status")
    func leadDescribe() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let fields = try #require(try await org.rest(.GET, "/sobjects/Lead/describe", token: token).object["fields"] as? [[String: Any]])
            let company = try #require(fields.first { $0["name"] as? String == "Company" })
            #expect(company["length"] as? Int == 255)
            #expect(company["nillable"] as? Bool == false)
            let status = try #require(fields.first { $0["name"] as? String == "Status" })
            #expect(status["type"] as? String == "picklist")
            #expect(status["defaultedOnCreate"] as? Bool == true)
            #expect(status["nillable"] as? Bool == false)
            let converted = try #require(fields.first { $0["name"] as? String == "IsConverted" })
            #expect(converted["updateable"] as? Bool == false)
            let contactId = try #require(fields.first { $0["name"] as? String == "ConvertedContactId" })
            #expect(contactId["type"] as? String == "reference")
            #expect(contactId["updateable"] as? Bool == false)
        }
    }

    @Test("a custom Long Text Area added by an admin shows in describe, and goes when removed")
    func customFieldInDescribe() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let added = try await org.admin(.POST, "/fields", json: [
                "type": "Contact", "name": "crm_1_seg__c", "fieldType": "textarea", "length": 32768,
            ])
            #expect(added.status == 201)
            var fields = try await org.rest(.GET, "/sobjects/Contact/describe", token: token).object["fields"] as? [[String: Any]] ?? []
            let segment = try #require(fields.first { $0["name"] as? String == "crm_1_seg__c" })
            #expect(segment["type"] as? String == "textarea")
            #expect(segment["length"] as? Int == 32768)
            #expect(segment["byteLength"] as? Int == 98304)
            #expect(segment["custom"] as? Bool == true)
            #expect(segment["filterable"] as? Bool == false)
            #expect(segment["sortable"] as? Bool == false)
            #expect(segment["nillable"] as? Bool == true)
            #expect(segment["updateable"] as? Bool == true)
            #expect(segment["createable"] as? Bool == true)
            #expect(segment["extraTypeInfo"] as? String == "plaintextarea")

            #expect(try await org.admin(.DELETE, "/fields/Contact/crm_1_seg__c").status == 204)
            fields = try await org.rest(.GET, "/sobjects/Contact/describe", token: token).object["fields"] as? [[String: Any]] ?? []
            #expect(!fields.contains { $0["name"] as? String == "crm_1_seg__c" })
            #expect(try await org.admin(.DELETE, "/fields/Contact/crm_1_seg__c").status == 404)
            #expect(try await org.admin(.DELETE, "/fields/Contact/LastName").status == 400)
        }
    }

    @Test("unknown objects and paths are NOT_FOUND")
    func unknownObject() async throws {
        try await withEmulator { org in
            let token = try await org.accessToken()
            let answer = try await org.rest(.GET, "/sobjects/Opportunityish/describe", token: token)
            #expect(answer.status == 404)
            #expect(answer.errorCode == "NOT_FOUND")
            #expect(try await org.rest(.GET, "/no/such/thing", token: token).status == 404)
        }
    }

    @Test("a record reads with attributes and every field, or only the fields asked for")
    func readRecord() async throws {
        try await withEmulator(contacts: 2) { org in
            let token = try await org.accessToken()
            let id = org.emulator.seededContactIds[0]
            let full = try await org.rest(.GET, "/sobjects/Contact/\(id)", token: token)
            #expect(full.status == 200)
            let attributes = try #require(full.object["attributes"] as? [String: Any])
            #expect(attributes["type"] as? String == "Contact")
            #expect(attributes["url"] as? String == "/services/data/v66.0/sobjects/Contact/\(id)")
            #expect(full.object["Id"] as? String == id)
            #expect(full.object["LastName"] is String)
            #expect(full.object.keys.contains("AccountId"))

            let some = try await org.rest(.GET, "/sobjects/Contact/\(id.prefix(15))?fields=lastname,Email", token: token)
            #expect(some.status == 200)
            #expect(Set(some.object.keys) == ["attributes", "LastName", "Email"])

            let absent = try await org.rest(.GET, "/sobjects/Contact/003000000000001AAA", token: token)
            #expect(absent.status == 404)
            let malformed = try await org.rest(.GET, "/sobjects/Contact/nonsense", token: token)
            #expect(malformed.status == 404)
            #expect(malformed.errorCode == "NOT_FOUND")
            let lead = try await org.rest(.GET, "/sobjects/Lead/\(id)", token: token)
            #expect(lead.errorCode == "MALFORMED_ID")
        }
    }
}

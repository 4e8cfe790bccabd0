/// The standard objects the emulated org serves, with the field metadata of a real org.
enum StandardObjects {
    static let leadStatuses = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]

    /// Fields Contact and Lead share.
    private static var personFields: [FieldDefinition] {
        [
            FieldDefinition(
                name: "Id", label: "Record ID", type: .id, length: 18,
                updateable: false, createable: false, nillable: false, defaultedOnCreate: true
            ),
            FieldDefinition(name: "FirstName", label: "First Name", type: .string, length: 40,
                            updateable: true, createable: true, nillable: true),
            FieldDefinition(name: "LastName", label: "Last Name", type: .string, length: 80,
                            updateable: true, createable: true, nillable: false),
            FieldDefinition(name: "Name", label: "Full Name", type: .string, length: 121,
                            updateable: false, createable: false, nillable: false, calculated: true),
            FieldDefinition(name: "Email", label: "Email", type: .email, length: 80,
                            updateable: true, createable: true, nillable: true),
            FieldDefinition(name: "Phone", label: "Phone", type: .phone, length: 40,
                            updateable: true, createable: true, nillable: true),
            FieldDefinition(name: "Title", label: "Title", type: .string, length: 128,
                            updateable: true, createable: true, nillable: true),
        ]
    }

    /// Audit fields every object carries; the org sets them.
    private static var systemFields: [FieldDefinition] {
        [
            FieldDefinition(name: "CreatedDate", label: "Created Date", type: .datetime, length: 0,
                            updateable: false, createable: false, nillable: false, defaultedOnCreate: true),
            FieldDefinition(name: "LastModifiedDate", label: "Last Modified Date", type: .datetime, length: 0,
                            updateable: false, createable: false, nillable: false, defaultedOnCreate: true),
            FieldDefinition(name: "IsDeleted", label: "Deleted", type: .boolean, length: 0,
                            updateable: false, createable: false, nillable: false, defaultedOnCreate: true),
        ]
    }

    static var contact: SObjectSchema {
        var fields = Self.personFields
        fields.append(FieldDefinition(
            name: "AccountId", label: "Account ID", type: .reference, length: 18,
            updateable: true, createable: true, nillable: true, referenceTo: ["Account"]
        ))
        fields += Self.systemFields
        return SObjectSchema(name: "Contact", label: "Contact", labelPlural: "Contacts", keyPrefix: "003", fields: fields)
    }

    static var lead: SObjectSchema {
        var fields = Self.personFields
        fields += [
            FieldDefinition(name: "Company", label: "Company", type: .string, length: 255,
                            updateable: true, createable: true, nillable: false),
            FieldDefinition(name: "Status", label: "Status", type: .picklist, length: 255,
                            updateable: true, createable: true, nillable: false, defaultedOnCreate: true,
                            picklistValues: Self.leadStatuses),
            FieldDefinition(name: "IsConverted", label: "Converted", type: .boolean, length: 0,
                            updateable: false, createable: true, nillable: false, defaultedOnCreate: true),
            FieldDefinition(name: "ConvertedContactId", label: "Converted Contact ID", type: .reference, length: 18,
                            updateable: false, createable: false, nillable: true, referenceTo: ["Contact"]),
        ]
        fields += Self.systemFields
        return SObjectSchema(name: "Lead", label: "Lead", labelPlural: "Leads", keyPrefix: "00Q", fields: fields)
    }
}

import Foundation
import SfdestCLI
import Testing

@Suite("Table rendering")
struct TextTableTests {
    @Test func columnsAreAlignedTwoSpacesApartWithoutTrailingSpaces() {
        let table = TextTable(
            columns: [.init("CODE"), .init("COUNT", .right), .init("MESSAGE")],
            rows: [["INVALID_EMAIL_ADDRESS", "12", "bad email"], ["X", "3", ""]]
        )
        #expect(table.render() == """
            CODE                   COUNT  MESSAGE
            INVALID_EMAIL_ADDRESS     12  bad email
            X                          3
            """)
    }

    @Test func shortRowsArePaddedWithEmptyCells() {
        let table = TextTable(columns: [.init("A"), .init("B", .right)], rows: [["long value"]])
        #expect(table.render() == "A           B\nlong value")
    }

    @Test func cellsAreFormattedReadably() {
        #expect(CellFormat.percent(0.755) == "75.5%")
        #expect(CellFormat.percent(1) == "100.0%")
        #expect(CellFormat.duration(0.4213) == "0.42s")
        #expect(CellFormat.duration(12.34) == "12.3s")
        #expect(CellFormat.duration(245.0) == "4m 05s")
        #expect(CellFormat.duration(7380.0) == "2h 03m")
        #expect(CellFormat.duration(nil) == "-")
        #expect(CellFormat.time("2026-11-20T10:00:00Z") == "2026-11-20 10:00:00Z")
        #expect(CellFormat.list(["a", "b", "c", "d"]) == "a, b, c +1")
        #expect(CellFormat.truncated("abcdef", to: 4) == "abc…")
        #expect(CellFormat.count(nil) == "-")
    }
}

@Suite("Monitoring tables")
struct MonitoringTablesTests {
    @Test func runsShowEveryCounterRateAndProcessingTime() {
        let text = MonitoringTables.runs([[
            "start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z", "status": "completed",
            "profilesReceived": 10, "identitiesActivated": 6, "identitiesUnchanged": 2, "identitiesExcluded": 1,
            "identitiesFailed": 1, "activationRate": 0.6, "processingSeconds": 1.5,
        ]])
        #expect(text == """
            WINDOW (UTC)          STATUS     RECEIVED  ACTIVATED  UNCHANGED  EXCLUDED  FAILED   RATE  PROCESSING
            2026-11-20 10:00:00Z  completed        10          6          2         1       1  60.0%       1.50s
            """)
    }

    @Test func failuresShowKindCodeCountFieldsMessageAndSamples() {
        let text = MonitoringTables.failures(["groups": [[
            "kind": "failed", "code": "INVALID_FIELD", "count": 3, "message": "No such column 'crm_9_seg__c'",
            "fields": ["crm_9_seg__c"], "sampleRecordIds": ["003A", "003B", "003C"],
        ]]])
        #expect(text == """
            KIND    CODE           COUNT  FIELDS        MESSAGE                        SAMPLE RECORDS
            failed  INVALID_FIELD      3  crm_9_seg__c  No such column 'crm_9_seg__c'  003A, 003B +1
            """)
    }

    @Test func audiencesShowMappingDatesStatusesAndLastDelivery() {
        let text = MonitoringTables.audiences([[
            "segmentId": "seg-gold", "mappingId": "crm_1_seg__c", "startDate": "2026-11-01", "endDate": NSNull(),
            "profiles": ["realized": 5, "existing": 0, "exited": 2], "lastDelivery": "2026-11-20T10:00:01Z",
        ]])
        #expect(text == """
            AUDIENCE  MAPPING ID    START       END  REALIZED  EXISTING  EXITED  LAST DELIVERY
            seg-gold  crm_1_seg__c  2026-11-01  -           5         0       2  2026-11-20 10:00:01Z
            """)
    }

    @Test func destinationsShowIdStatusAndBacklog() {
        let text = MonitoringTables.destinations([[
            "id": "dest_1", "name": "Sales contacts", "objectType": "Contact", "status": "enabled",
            "delivery": ["status": "idle"], "backlog": ["pending": 2, "inFlight": 1, "retrying": 0, "failed": 4],
            "lastDeliveryAt": NSNull(),
        ]])
        #expect(text == """
            ID      NAME            OBJECT   STATUS   DELIVERY  PENDING  RETRYING  FAILED  LAST DELIVERY
            dest_1  Sales contacts  Contact  enabled  idle            3         0       4  -
            """)
    }

    @Test func emptyViewsSaySoInWords() {
        #expect(MonitoringTables.runs([]).hasPrefix("No runs yet"))
        #expect(MonitoringTables.failures([:]) == "No failed or excluded identities.")
        #expect(MonitoringTables.destinations([]).hasPrefix("No destinations yet"))
    }
}

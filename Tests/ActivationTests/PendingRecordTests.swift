import Testing
@testable import Activation

@Suite("Pending records: coalescing, order and counting")
struct PendingRecordTests {
    let id = try! SalesforceRecordID(contactId)
    let hour: Int64 = 1_795_168_800_000

    func desired(_ fields: [String: FieldValue]) -> DesiredRecord { DesiredRecord(id: self.id, fields: fields) }

    @Test func unchangedProfileQueuesNothing() {
        var entry = PendingRecord()
        let result = entry.receive(self.desired(["LastName": .string("A")]), acknowledged: ["LastName": .string("A")], hour: self.hour)
        #expect(result.changed == false)
        #expect(entry.isSettled)
    }

    @Test func changesCoalesceAndOnlyDifferencesAreSent() {
        var entry = PendingRecord()
        let ack: [String: FieldValue] = ["LastName": .string("A"), "FirstName": .string("Ada")]
        _ = entry.receive(self.desired(["LastName": .string("B"), "FirstName": .string("Ada")]), acknowledged: ack, hour: self.hour)
        _ = entry.receive(self.desired(["LastName": .string("C"), "FirstName": .string("Ada"), "crm_1_seg__c": .string("realized")]), acknowledged: ack, hour: self.hour)
        #expect(entry.waiting == [self.hour: 2])
        let claim = entry.claim(acknowledged: ack)
        #expect(claim?.fields == ["LastName": .string("C"), "crm_1_seg__c": .string("realized")])
        let (held, activated) = entry.succeeded()
        #expect(held == ["LastName": .string("C"), "crm_1_seg__c": .string("realized")])
        #expect(activated == [self.hour: 2])
        #expect(entry.isSettled)
    }

    @Test func aChangeDuringFlightIsSentAfterIt() {
        var entry = PendingRecord()
        var ack: [String: FieldValue] = ["LastName": .string("A")]
        _ = entry.receive(self.desired(["LastName": .string("B")]), acknowledged: ack, hour: self.hour)
        #expect(entry.claim(acknowledged: ack)?.fields == ["LastName": .string("B")])
        // While B is in flight, the profile goes back to A: A must be sent after B lands.
        let during = entry.receive(self.desired(["LastName": .string("A")]), acknowledged: ack, hour: self.hour + 3_600_000)
        #expect(during.changed)
        #expect(entry.claim(acknowledged: ack) == nil, "a record is never sent twice at once")
        let first = entry.succeeded()
        ack.merge(first.acknowledged) { _, new in new }
        #expect(first.activated == [self.hour: 1])
        #expect(entry.claim(acknowledged: ack)?.fields == ["LastName": .string("A")])
        #expect(entry.succeeded().activated == [self.hour + 3_600_000: 1])
    }

    @Test func retryPutsTheSendBackUnderNewerChanges() {
        var entry = PendingRecord()
        let ack: [String: FieldValue] = [:]
        _ = entry.receive(self.desired(["LastName": .string("B"), "FirstName": .string("X")]), acknowledged: ack, hour: self.hour)
        _ = entry.claim(acknowledged: ack)
        _ = entry.receive(self.desired(["LastName": .string("C"), "FirstName": .string("X")]), acknowledged: ack, hour: self.hour)
        entry.retry()
        #expect(entry.inFlight == nil)
        #expect(entry.fields == ["LastName": .string("C"), "FirstName": .string("X")])
        #expect(entry.waiting == [self.hour: 2])
    }

    @Test func failureCountsOnceAndKeepsANewerChange() {
        var entry = PendingRecord()
        let later = self.hour + 3_600_000
        _ = entry.receive(self.desired(["Email": .string("bad")]), acknowledged: [:], hour: self.hour)
        #expect(entry.claim(acknowledged: [:])?.fields == ["Email": .string("bad")])
        // While the bad email is in flight, a newer profile fixes it.
        let during = entry.receive(self.desired(["Email": .string("good@example.com")]), acknowledged: [:], hour: later)
        #expect(during.changed)
        let (sent, failed) = entry.failed()
        #expect(sent == ["Email": .string("bad")])
        // Only the profile the refused send carried fails; the newer one is still to be sent.
        #expect(failed == [self.hour: 1])
        #expect(!entry.isSettled)
        #expect(entry.fields == ["Email": .string("good@example.com")])
        #expect(entry.waiting == [later: 1])
        #expect(entry.claim(acknowledged: [:])?.fields == ["Email": .string("good@example.com")])
        #expect(entry.succeeded().activated == [later: 1])
        #expect(entry.isSettled)
    }

    @Test func aFailureWithNothingNewerSettlesTheRecord() {
        var entry = PendingRecord()
        _ = entry.receive(self.desired(["Email": .string("bad")]), acknowledged: [:], hour: self.hour)
        _ = entry.claim(acknowledged: [:])
        let (sent, failed) = entry.failed()
        #expect(sent == ["Email": .string("bad")])
        #expect(failed == [self.hour: 1])
        #expect(entry.isSettled)
    }

    @Test func whatSalesforceAlreadyHoldsIsNotSent() {
        var entry = PendingRecord()
        _ = entry.receive(self.desired(["LastName": .string("B")]), acknowledged: [:], hour: self.hour)
        let claim = entry.claim(acknowledged: ["LastName": .string("B")])
        #expect(claim?.fields == [:])
        #expect(claim?.alreadyHeld == [self.hour: 1])
        #expect(entry.isSettled)
    }

    @Test func undoingAQueuedChangeCountsTheEarlierProfileUnchanged() {
        var entry = PendingRecord()
        let ack: [String: FieldValue] = ["LastName": .string("A")]
        _ = entry.receive(self.desired(["LastName": .string("B")]), acknowledged: ack, hour: self.hour)
        let result = entry.receive(self.desired(["LastName": .string("A")]), acknowledged: ack, hour: self.hour)
        #expect(result.changed == false)
        #expect(result.resolvedUnchanged == [self.hour: 1])
        #expect(entry.isSettled)
    }
}

/// The spend windows of a card, in its tenant's local time: a day, an ISO week (from Monday), a
/// calendar month, and the card's lifetime. A window is named by a key (local day number, the day
/// number of its Monday, year × 12 + month) so that "the same window" is an integer comparison.
public struct WindowKeys: Sendable, Hashable, Codable {
    public let day: Int64
    public let week: Int64
    public let month: Int64

    public init(day: Int64, week: Int64, month: Int64) {
        self.day = day
        self.week = week
        self.month = month
    }

    /// The windows `instant` falls in, for a zone that is `utcOffsetSeconds` ahead of UTC then.
    public init(at instant: Timestamp, utcOffsetSeconds: Int) {
        let localSeconds = Self.floorDivide(instant.microseconds, 1_000_000) + Int64(utcOffsetSeconds)
        let day = Self.floorDivide(localSeconds, 86_400)
        // 1970-01-01 was a Thursday: day 0 is weekday 3 counted from Monday.
        let weekday = ((day + 3) % 7 + 7) % 7
        let (year, month, _) = Timestamp.civil(fromDays: day)
        self.init(day: day, week: day - weekday, month: year * 12 + (month - 1))
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }
}

/// What a card has spent in each window, as kept on the card row: a window's amount counts only while
/// its key is the current one, so a new day starts from zero without anything resetting it.
public struct SpendCounters: Sendable, Hashable, Codable {
    public var dayKey: Int64
    public var dayMinor: Int64
    public var weekKey: Int64
    public var weekMinor: Int64
    public var monthKey: Int64
    public var monthMinor: Int64
    public var lifetimeMinor: Int64

    public init(dayKey: Int64 = 0, dayMinor: Int64 = 0, weekKey: Int64 = 0, weekMinor: Int64 = 0, monthKey: Int64 = 0,
                monthMinor: Int64 = 0, lifetimeMinor: Int64 = 0) {
        self.dayKey = dayKey
        self.dayMinor = dayMinor
        self.weekKey = weekKey
        self.weekMinor = weekMinor
        self.monthKey = monthKey
        self.monthMinor = monthMinor
        self.lifetimeMinor = lifetimeMinor
    }

    /// Spend in the windows `keys` name.
    public func usage(at keys: WindowKeys) -> SpendUsage {
        SpendUsage(dailyMinor: dayKey == keys.day ? dayMinor : 0, weeklyMinor: weekKey == keys.week ? weekMinor : 0,
                   monthlyMinor: monthKey == keys.month ? monthMinor : 0, lifetimeMinor: lifetimeMinor)
    }

    /// The counters after `amount` is spent in the windows `keys` name.
    public func adding(_ amount: Int64, at keys: WindowKeys) throws(DomainError) -> SpendCounters {
        let used = usage(at: keys)
        return SpendCounters(
            dayKey: keys.day, dayMinor: try MinorUnits.add(used.dailyMinor, amount),
            weekKey: keys.week, weekMinor: try MinorUnits.add(used.weeklyMinor, amount),
            monthKey: keys.month, monthMinor: try MinorUnits.add(used.monthlyMinor, amount),
            lifetimeMinor: try MinorUnits.add(used.lifetimeMinor, amount))
    }

    /// The counters after `amount` spent in the windows `spentIn` is given back (a reversal, an
    /// expiry, a declined review). A window that has moved on since is left alone: it never held it.
    public func removing(_ amount: Int64, spentIn keys: WindowKeys) -> SpendCounters {
        var result = self
        if dayKey == keys.day { result.dayMinor = max(0, dayMinor - amount) }
        if weekKey == keys.week { result.weekMinor = max(0, weekMinor - amount) }
        if monthKey == keys.month { result.monthMinor = max(0, monthMinor - amount) }
        result.lifetimeMinor = max(0, lifetimeMinor - amount)
        return result
    }
}

/// Spend in the current windows.
public struct SpendUsage: Sendable, Hashable, Codable {
    public var dailyMinor: Int64
    public var weeklyMinor: Int64
    public var monthlyMinor: Int64
    public var lifetimeMinor: Int64

    public init(dailyMinor: Int64 = 0, weeklyMinor: Int64 = 0, monthlyMinor: Int64 = 0, lifetimeMinor: Int64 = 0) {
        self.dailyMinor = dailyMinor
        self.weeklyMinor = weeklyMinor
        self.monthlyMinor = monthlyMinor
        self.lifetimeMinor = lifetimeMinor
    }
}

/// How each data element of an ISO 8583:1987 message is laid out: the common `default_ascii`
/// layout (every length, number and bitmap in ASCII; bitmaps as 16 hex digits). A fixed field is
/// exactly its length; an LLVAR or LLLVAR field is 2 or 3 ASCII digits of length, then the data.
public enum ISO8583FieldFormat: Sendable, Hashable {
    case fixed(Int)
    case llvar(max: Int)
    case lllvar(max: Int)

    static func f(_ length: Int) -> Self { .fixed(length) }
    static func ll(_ max: Int) -> Self { .llvar(max: max) }
    static func lll(_ max: Int) -> Self { .lllvar(max: max) }

    /// Digits of the length prefix (0 for a fixed field).
    var prefixDigits: Int {
        switch self {
        case .fixed: 0
        case .llvar: 2
        case .lllvar: 3
        }
    }

    var maxLength: Int {
        switch self {
        case .fixed(let length): length
        case .llvar(let max), .lllvar(let max): max
        }
    }
}

public enum ISO8583Layout {
    /// Fields 2 to 128 (field 1 is the secondary bitmap, read with the primary one).
    public static func format(_ field: Int) -> ISO8583FieldFormat? {
        (2...128).contains(field) ? formats[field - 2] : nil
    }

    private static let formats: [ISO8583FieldFormat] = [
        /*   2 */ .ll(19),
        /*   3 */ .f(6),
        /*   4 */ .f(12),
        /*   5 */ .f(12),
        /*   6 */ .f(12),
        /*   7 */ .f(10),
        /*   8 */ .f(8),
        /*   9 */ .f(8),
        /*  10 */ .f(8),
        /*  11 */ .f(6),
        /*  12 */ .f(6),
        /*  13 */ .f(4),
        /*  14 */ .f(4),
        /*  15 */ .f(4),
        /*  16 */ .f(4),
        /*  17 */ .f(4),
        /*  18 */ .f(4),
        /*  19 */ .f(3),
        /*  20 */ .f(3),
        /*  21 */ .f(3),
        /*  22 */ .f(3),
        /*  23 */ .f(3),
        /*  24 */ .f(3),
        /*  25 */ .f(2),
        /*  26 */ .f(2),
        /*  27 */ .f(1),
        /*  28 */ .f(9),
        /*  29 */ .f(9),
        /*  30 */ .f(9),
        /*  31 */ .f(9),
        /*  32 */ .ll(11),
        /*  33 */ .ll(11),
        /*  34 */ .ll(28),
        /*  35 */ .ll(37),
        /*  36 */ .lll(104),
        /*  37 */ .f(12),
        /*  38 */ .f(6),
        /*  39 */ .f(2),
        /*  40 */ .f(3),
        /*  41 */ .f(8),
        /*  42 */ .f(15),
        /*  43 */ .f(40),
        /*  44 */ .ll(25),
        /*  45 */ .ll(76),
        /*  46 */ .lll(999),
        /*  47 */ .lll(999),
        /*  48 */ .lll(999),
        /*  49 */ .f(3),
        /*  50 */ .f(3),
        /*  51 */ .f(3),
        /*  52 */ .f(16),
        /*  53 */ .f(16),
        /*  54 */ .lll(240),
        /*  55 */ .lll(510),
        /*  56 */ .lll(999),
        /*  57 */ .lll(999),
        /*  58 */ .lll(999),
        /*  59 */ .lll(999),
        /*  60 */ .lll(999),
        /*  61 */ .lll(999),
        /*  62 */ .lll(999),
        /*  63 */ .lll(999),
        /*  64 */ .f(16),
        /*  65 */ .f(16),
        /*  66 */ .f(1),
        /*  67 */ .f(2),
        /*  68 */ .f(3),
        /*  69 */ .f(3),
        /*  70 */ .f(3),
        /*  71 */ .f(4),
        /*  72 */ .f(4),
        /*  73 */ .f(6),
        /*  74 */ .f(10),
        /*  75 */ .f(10),
        /*  76 */ .f(10),
        /*  77 */ .f(10),
        /*  78 */ .f(10),
        /*  79 */ .f(10),
        /*  80 */ .f(10),
        /*  81 */ .f(10),
        /*  82 */ .f(12),
        /*  83 */ .f(12),
        /*  84 */ .f(12),
        /*  85 */ .f(12),
        /*  86 */ .f(16),
        /*  87 */ .f(16),
        /*  88 */ .f(16),
        /*  89 */ .f(16),
        /*  90 */ .f(42),
        /*  91 */ .f(1),
        /*  92 */ .f(2),
        /*  93 */ .f(5),
        /*  94 */ .f(7),
        /*  95 */ .f(42),
        /*  96 */ .f(16),
        /*  97 */ .f(17),
        /*  98 */ .f(25),
        /*  99 */ .ll(11),
        /* 100 */ .ll(11),
        /* 101 */ .ll(17),
        /* 102 */ .ll(28),
        /* 103 */ .ll(28),
        /* 104 */ .lll(100),
        /* 105 */ .lll(999),
        /* 106 */ .lll(999),
        /* 107 */ .lll(999),
        /* 108 */ .lll(999),
        /* 109 */ .lll(999),
        /* 110 */ .lll(999),
        /* 111 */ .lll(999),
        /* 112 */ .lll(999),
        /* 113 */ .lll(999),
        /* 114 */ .lll(999),
        /* 115 */ .lll(999),
        /* 116 */ .lll(999),
        /* 117 */ .lll(999),
        /* 118 */ .lll(999),
        /* 119 */ .lll(999),
        /* 120 */ .lll(999),
        /* 121 */ .lll(999),
        /* 122 */ .lll(999),
        /* 123 */ .lll(999),
        /* 124 */ .lll(999),
        /* 125 */ .lll(999),
        /* 126 */ .lll(999),
        /* 127 */ .lll(999),
        /* 128 */ .f(16),
    ]
}

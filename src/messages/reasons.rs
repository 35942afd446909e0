//! The sentences of rejections: what `reject_detail` says, in English and Japanese.
//!
//! The codes beside them are [`crate::verdict`]'s; only the words are here.

use super::Lang;
use crate::verdict::{Reason, RowProblem, SyntaxError};

/// The sentence written to `reject_detail` for a rejection.
pub fn reason(reason: &Reason, lang: Lang) -> String {
    let ja = lang == Lang::Ja;
    match reason {
            Reason::Empty if ja => "メールアドレスが空です".into(),
            Reason::Empty => "the email cell is empty".into(),
        Reason::Placeholder { text } if ja => {
            format!("アドレスの代わりに「{text}」と書かれています")
        }
        Reason::Placeholder { text } => {
            format!("the cell holds the note {text:?} instead of an address")
        }
            Reason::Syntax(e) => syntax(e, lang),
            Reason::MultipleAddresses if ja => "1 つのセルに複数のアドレスがあります".into(),
            Reason::MultipleAddresses => "the cell holds more than one address".into(),
            Reason::LegacyCarrierAddress if ja => {
                "2009 年以前の docomo/au 形式（連続ドット・@ 直前のドット）で、主要な送信元から拒否されます".into()
            }
            Reason::LegacyCarrierAddress => {
                "a pre-2009 docomo/au address with dots that major senders refuse".into()
            }
            Reason::SpecialUseDomain { domain } if ja => format!("{domain} は例示・テスト用の予約ドメインです"),
            Reason::SpecialUseDomain { domain } => {
                format!("{domain} is reserved for examples and testing and receives no mail")
            }
            Reason::EncodingError if ja => "文字コードとして不正なバイトがあります（文字化け）".into(),
            Reason::EncodingError => "the row has bytes that are invalid in the file's encoding".into(),
            Reason::DamagedText if ja => {
            "「\u{FFFD}」（U+FFFD）があります。このファイルが作られる前に文字が失われています（文字コードの指定では直りません）".into()
        }
        Reason::DamagedText => {
            "the cell holds \u{FFFD} (U+FFFD), a character lost before this file was made; \
             no input encoding brings it back"
                .into()
        }
        Reason::MalformedRow { problem } => row_problem(problem, lang),
            Reason::Duplicate { first_row } if ja => format!("{first_row} 行目と同じアドレスです"),
            Reason::Duplicate { first_row } => format!("same address as row {first_row}"),
            Reason::DisposableDomain { domain } if ja => format!("{domain} は使い捨てメールのドメインです"),
            Reason::DisposableDomain { domain } => format!("{domain} is a disposable-mail domain"),
        Reason::TypoDomain { domain } if ja => {
            format!("{domain} はよく使われるドメインの入力ミスです")
        }
        Reason::TypoDomain { domain } => {
            format!("{domain} is a slip of the finger on a well-known domain")
        }
            Reason::Suppressed if ja => "配信停止リストにあるアドレスです".into(),
            Reason::Suppressed => "the address is on a suppression list".into(),
            Reason::RoleAccount if ja => "部署・役割のアドレスです（--reject-role）".into(),
            Reason::RoleAccount => "a role account, rejected by --reject-role".into(),
            Reason::DomainNotFound { domain } if ja => format!("ドメイン {domain} は存在しません"),
            Reason::DomainNotFound { domain } => format!("the domain {domain} does not exist"),
            Reason::NullMx { domain } if ja => format!("{domain} はメールを受け付けないと宣言しています（null MX）"),
            Reason::NullMx { domain } => format!("{domain} declares that it accepts no mail (null MX)"),
            Reason::NoMailHost {
                domain,
                only_localhost: true,
            } if ja => format!("{domain} の MX は localhost だけを指しており、メールは届きません"),
            Reason::NoMailHost {
                domain,
                only_localhost: true,
            } => format!("{domain} has MX records that name only localhost: mail to it reaches no server"),
            Reason::NoMailHost { domain, .. } if ja => {
                format!("{domain} には MX も公開アドレスもなく、メールサーバがありません")
            }
            Reason::NoMailHost { domain, .. } => format!(
                "{domain} has no MX records and no public address: no server receives its mail"
            ),
        }
}

/// The sentence for a syntax error.
pub fn syntax(error: &SyntaxError, lang: Lang) -> String {
    use SyntaxError::*;
    let ja = lang == Lang::Ja;
    match error {
        NoAtSign if ja => "@ がありません".into(),
        NoAtSign => "there is no @ sign".into(),
        MultipleAtSigns if ja => "@ が複数あります".into(),
        MultipleAtSigns => "there is more than one @ sign".into(),
        EmptyLocalPart if ja => "@ の前が空です".into(),
        EmptyLocalPart => "nothing comes before the @ sign".into(),
        LocalTooLong { len } if ja => {
            format!("@ の前が {len} バイトあり、上限の 64 を超えています")
        }
        LocalTooLong { len } => {
            format!("the part before @ is {len} octets, over the limit of 64")
        }
        TooLong { len } if ja => {
            format!("アドレス全体が {len} バイトあり、上限の 254 を超えています")
        }
        TooLong { len } => format!("the address is {len} octets, over the limit of 254"),
        LeadingDot if ja => "@ の前がドットで始まっています".into(),
        LeadingDot => "the part before @ starts with a dot".into(),
        TrailingDot if ja => "@ の直前にドットがあります".into(),
        TrailingDot => "a dot comes right before the @ sign".into(),
        ConsecutiveDots if ja => "ドットが連続しています".into(),
        ConsecutiveDots => "two dots in a row".into(),
        InvalidCharacter { ch } if ja => format!("@ の前に使えない文字 {ch:?} があります"),
        InvalidCharacter { ch } => {
            format!("the character {ch:?} is not allowed before the @ sign")
        }
        NonAsciiLocalPart if ja => {
            "@ の前に全角文字・日本語があります（半角英数字のみ使えます）".into()
        }
        NonAsciiLocalPart => {
            "the part before @ has non-ASCII characters, which most mail systems refuse".into()
        }
        LookalikeCharacter { ch } if ja => {
            format!("ハイフンに似た文字 {ch:?} があります（半角の - か確認してください）")
        }
        LookalikeCharacter { ch } => format!(
            "the look-alike character {ch:?} stands where a hyphen probably belongs; check it by hand"
        ),
        QuotedLocalPart if ja => "引用符で囲まれたアドレスは受け付けません".into(),
        QuotedLocalPart => "quoted local parts are not accepted by most senders".into(),
        Whitespace if ja => "アドレスの途中に空白があります".into(),
        Whitespace => "there is white space inside the address".into(),
        Comment if ja => "括弧書きの注記があります（例: （自宅））".into(),
        Comment => "the cell holds a comment or annotation in parentheses".into(),
        Annotation { text } if ja => format!("アドレスの後に注記 {text:?} が付いています"),
        Annotation { text } => format!("the note {text:?} follows the address"),
        EmptyDomain if ja => "@ の後が空です".into(),
        EmptyDomain => "nothing comes after the @ sign".into(),
        DomainLabel { label } if ja => format!("ドメインの一部 {label:?} が不正です"),
        DomainLabel { label } => {
            format!("the domain label {label:?} is not a valid host name label")
        }
        DomainInvalidCharacter { ch } if ja => {
            format!("ドメインに使えない文字 {ch:?} があります")
        }
        DomainInvalidCharacter { ch } => {
            format!("the character {ch:?} is not allowed in a domain")
        }
        DomainLookalikeCharacter { ch } if ja => {
            format!("ドメインにハイフンに似た文字 {ch:?} があります（半角の - か確認してください）")
        }
        DomainLookalikeCharacter { ch } => format!(
            "the look-alike character {ch:?} stands in the domain where a hyphen probably belongs; check it by hand"
        ),
        DomainTooLong { len } if ja => {
            format!("ドメインが {len} バイトあり、上限の 253 を超えています")
        }
        DomainTooLong { len } => format!("the domain is {len} octets, over the limit of 253"),
        SingleLabelDomain if ja => "ドメインにドットがありません（例: @docomo）".into(),
        SingleLabelDomain => "the domain has a single label and no top-level domain".into(),
        NumericTld if ja => "トップレベルドメインが数字です".into(),
        NumericTld => "the top-level domain is numeric".into(),
        InvalidTld { tld } if ja => {
            format!("{tld:?} というトップレベルドメインはありません")
        }
        InvalidTld { tld } => format!("{tld:?} is not a top-level domain"),
        IpLiteral if ja => "ドメインの代わりに IP アドレスが書かれています".into(),
        IpLiteral => "an IP address literal stands where a domain belongs".into(),
        InvalidIdn if ja => "国際化ドメイン名として不正です".into(),
        InvalidIdn => "the internationalized domain name is not valid".into(),
    }
}

/// The sentence for a row that cannot be read as a row.
fn row_problem(problem: &RowProblem, lang: Lang) -> String {
    let ja = lang == Lang::Ja;
    match problem {
        RowProblem::TooManyFields { expected, found } if ja => {
            format!("列が {found} 個あり、見出しの {expected} 個より多いです（区切り文字の混入）")
        }
        RowProblem::TooManyFields { expected, found } => {
            format!("the row has {found} cells, more than the header's {expected}")
        }
        RowProblem::NulByte if ja => "NUL 文字があります".into(),
        RowProblem::NulByte => "the row contains a NUL byte".into(),
        RowProblem::TooLarge { limit } if ja => {
            format!("行が上限の {limit} バイトを超えています")
        }
        RowProblem::TooLarge { limit } => format!("the row is larger than {limit} bytes"),
        RowProblem::TooManyColumns { limit } if ja => {
            format!("列が上限の {limit} 個を超えています")
        }
        RowProblem::TooManyColumns { limit } => format!("the row has more than {limit} cells"),
    }
}

/// What follows a rejection's sentence when its domain looks like a typo: the suggestion.
pub fn did_you_mean(suggestion: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("; did you mean {suggestion}?"),
        Lang::Ja => format!("（{suggestion} の入力ミスでは？）"),
    }
}

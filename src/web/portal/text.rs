//! The account page's words in English and Russian, and the choice
//! between them: a `lang` link, then the `tm_lang` cookie it sets, then
//! `Accept-Language` (RFC 9110 §12.5.4). Pure.

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the default.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and links.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// `en` or `ru`, any case.
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The words.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Ru => &RU,
        }
    }

    /// The other language, offered as a link.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ru,
            Lang::Ru => Lang::En,
        }
    }
}

/// The language for a request: `chosen` (link or cookie) when valid, else
/// the first of English and Russian in `Accept-Language` by weight, else
/// English.
pub fn negotiate(chosen: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(l) = chosen.and_then(Lang::parse) {
        return l;
    }
    let mut best: Option<(u32, Lang)> = None;
    for item in accept_language.unwrap_or("").split(',').take(32) {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let weight = (q.clamp(0.0, 1.0) * 1000.0) as u32;
        let primary = range.split('-').next().unwrap_or("");
        let Some(lang) = Lang::parse(primary) else {
            continue;
        };
        if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

/// Every sentence the page shows.
pub struct Text {
    pub lang_name: &'static str,
    pub title: &'static str,
    pub sign_in_intro: &'static str,
    pub sign_in: &'static str,
    pub sign_in_failed: &'static str,
    pub err_expired: &'static str,
    pub err_refused: &'static str,
    pub err_unavailable: &'static str,
    pub err_address: &'static str,
    pub err_form: &'static str,
    pub err_name: &'static str,
    pub err_scope: &'static str,
    pub err_too_many: &'static str,
    pub not_configured: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub settings: &'static str,
    pub settings_intro: &'static str,
    pub incoming: &'static str,
    pub outgoing: &'static str,
    pub server: &'static str,
    pub port: &'static str,
    pub security: &'static str,
    pub method: &'static str,
    pub user_name: &'static str,
    pub ssl_tls: &'static str,
    pub starttls: &'static str,
    pub oauth_or_app_password: &'static str,
    pub thunderbird_1: &'static str,
    pub thunderbird_link: &'static str,
    pub thunderbird_2: &'static str,
    pub outlook: &'static str,
    pub apple: &'static str,
    pub apple_button: &'static str,
    pub android: &'static str,
    pub app_passwords: &'static str,
    pub app_passwords_intro: &'static str,
    pub name: &'static str,
    pub name_hint: &'static str,
    pub for_protocols: &'static str,
    pub create: &'static str,
    pub new_password: &'static str,
    pub new_password_note: &'static str,
    pub no_app_passwords: &'static str,
    pub created: &'static str,
    pub expires: &'static str,
    pub last_used: &'static str,
    pub never: &'static str,
    pub revoke: &'static str,
    pub revoked_notice: &'static str,
    pub logins: &'static str,
    pub no_logins: &'static str,
    pub time: &'static str,
    pub address: &'static str,
    pub protocol: &'static str,
    pub client: &'static str,
    pub everywhere: &'static str,
    pub everywhere_intro: &'static str,
    pub everywhere_done: &'static str,
    pub signed_out: &'static str,
    pub sign_in_again: &'static str,
    pub form_expired: &'static str,
}

/// English.
pub static EN: Text = Text {
    lang_name: "English",
    title: "Your mail account",
    sign_in_intro: "Sign in with your organization's account to set up your mail programs, make app passwords and see where you are signed in.",
    sign_in: "Sign in",
    sign_in_failed: "Sign-in did not work:",
    err_expired: "it took too long or was started in another tab. Please try again.",
    err_refused: "the identity provider did not confirm it.",
    err_unavailable: "the identity provider cannot be reached. Please try again in a minute.",
    err_address: "your account has no mail address on this server.",
    err_form: "That did not work:",
    err_name: "give the app password a name of 1 to 64 characters.",
    err_scope: "choose at least one protocol.",
    err_too_many: "you have as many app passwords as allowed; revoke one first.",
    not_configured: "The account page is not set up on this server.",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    settings: "Set up your mail program",
    settings_intro: "Most programs find these settings themselves from your address. If yours asks:",
    incoming: "Incoming mail",
    outgoing: "Outgoing mail",
    server: "Server",
    port: "Port",
    security: "Security",
    method: "Sign-in",
    user_name: "User name: your address",
    ssl_tls: "SSL/TLS",
    starttls: "STARTTLS",
    oauth_or_app_password: "OAuth2, or normal password with an app password",
    thunderbird_1: "Install",
    thunderbird_link: "the add-on for this server",
    thunderbird_2: "(open the file in Thunderbird, or Add-ons and Themes → Install Add-on From File). Then add an account with your address and choose OAuth2: Thunderbird opens the same sign-in as this page.",
    outlook: "Add an account with your address: Outlook finds the servers itself. When it asks for a password, make an app password below and enter it.",
    apple: "Download a profile that sets up Mail with a new app password, then install it in Settings → Profile Downloaded (on a Mac: System Settings → Profiles).",
    apple_button: "Download the profile",
    android: "In Thunderbird for Android, K-9 Mail, FairEmail or another mail app choose IMAP and enter the servers above, your address as the user name and an app password as the password.",
    app_passwords: "App passwords",
    app_passwords_intro: "For programs that cannot sign in with OAuth2. Each one is shown once; revoke it when you stop using the program.",
    name: "Name",
    name_hint: "e.g. Phone",
    for_protocols: "For",
    create: "Create app password",
    new_password: "Your new app password",
    new_password_note: "Copy it now: it will not be shown again. Enter it as the password, with your address as the user name; spaces do not matter.",
    no_app_passwords: "No app passwords yet.",
    created: "Created",
    expires: "Expires",
    last_used: "Last used",
    never: "never",
    revoke: "Revoke",
    revoked_notice: "The app password is revoked; programs that used it are signed out.",
    logins: "Recent sign-ins",
    no_logins: "No sign-ins yet.",
    time: "Time",
    address: "IP address",
    protocol: "Protocol",
    client: "Program",
    everywhere: "Sign out everywhere",
    everywhere_intro: "Ends every session of your mail programs at once, revokes all app passwords and makes every program sign in again. Use it when a device is lost.",
    everywhere_done: "You are signed out everywhere: every mail program must sign in again, and all app passwords are revoked.",
    signed_out: "You are signed out of this page.",
    sign_in_again: "Sign in again",
    form_expired: "The form has expired. Please reload the page and try again.",
};

/// Russian.
pub static RU: Text = Text {
    lang_name: "Русский",
    title: "Ваша почта",
    sign_in_intro: "Войдите через учётную запись вашей организации, чтобы настроить почтовые программы, создать пароли приложений и увидеть, где выполнен вход.",
    sign_in: "Войти",
    sign_in_failed: "Войти не удалось:",
    err_expired: "вход занял слишком много времени или был начат в другой вкладке. Попробуйте ещё раз.",
    err_refused: "поставщик учётных записей его не подтвердил.",
    err_unavailable: "поставщик учётных записей недоступен. Попробуйте через минуту.",
    err_address: "у вашей учётной записи нет адреса почты на этом сервере.",
    err_form: "Не получилось:",
    err_name: "дайте паролю приложения название от 1 до 64 символов.",
    err_scope: "выберите хотя бы один протокол.",
    err_too_many: "у вас уже предельное число паролей приложений; сначала отзовите один.",
    not_configured: "Страница учётной записи на этом сервере не настроена.",
    signed_in_as: "Вы вошли как",
    sign_out: "Выйти",
    settings: "Настройка почтовой программы",
    settings_intro: "Большинство программ находят настройки сами по вашему адресу. Если программа спрашивает:",
    incoming: "Входящая почта",
    outgoing: "Исходящая почта",
    server: "Сервер",
    port: "Порт",
    security: "Защита",
    method: "Вход",
    user_name: "Имя пользователя: ваш адрес",
    ssl_tls: "SSL/TLS",
    starttls: "STARTTLS",
    oauth_or_app_password: "OAuth2 или обычный пароль (пароль приложения)",
    thunderbird_1: "Установите",
    thunderbird_link: "дополнение для этого сервера",
    thunderbird_2: "(откройте файл в Thunderbird или: Дополнения и темы → Установить дополнение из файла). Затем добавьте учётную запись со своим адресом и выберите OAuth2: Thunderbird откроет тот же вход, что и эта страница.",
    outlook: "Добавьте учётную запись со своим адресом: Outlook найдёт серверы сам. Когда он спросит пароль, создайте ниже пароль приложения и введите его.",
    apple: "Скачайте профиль, который настроит Почту с новым паролем приложения, и установите его: Настройки → Профиль загружен (на Mac: Системные настройки → Профили).",
    apple_button: "Скачать профиль",
    android: "В Thunderbird для Android, K-9 Mail, FairEmail или другой почтовой программе выберите IMAP и введите серверы выше, свой адрес как имя пользователя и пароль приложения как пароль.",
    app_passwords: "Пароли приложений",
    app_passwords_intro: "Для программ, которые не умеют входить через OAuth2. Каждый пароль показывается один раз; отзовите его, когда перестанете пользоваться программой.",
    name: "Название",
    name_hint: "например, Телефон",
    for_protocols: "Для",
    create: "Создать пароль приложения",
    new_password: "Ваш новый пароль приложения",
    new_password_note: "Скопируйте его сейчас: больше он показан не будет. Введите его как пароль, а свой адрес как имя пользователя; пробелы не важны.",
    no_app_passwords: "Паролей приложений пока нет.",
    created: "Создан",
    expires: "Истекает",
    last_used: "Последнее использование",
    never: "никогда",
    revoke: "Отозвать",
    revoked_notice: "Пароль приложения отозван; программы, которые им пользовались, отключены.",
    logins: "Последние входы",
    no_logins: "Входов пока не было.",
    time: "Время",
    address: "IP-адрес",
    protocol: "Протокол",
    client: "Программа",
    everywhere: "Выйти везде",
    everywhere_intro: "Сразу завершает все сеансы ваших почтовых программ, отзывает все пароли приложений, и каждой программе придётся войти снова. Пригодится, если устройство потеряно.",
    everywhere_done: "Вы вышли везде: каждой почтовой программе нужно войти снова, все пароли приложений отозваны.",
    signed_out: "Вы вышли с этой страницы.",
    sign_in_again: "Войти снова",
    form_expired: "Форма устарела. Обновите страницу и попробуйте ещё раз.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choice() {
        assert_eq!(negotiate(None, None), Lang::En);
        assert_eq!(negotiate(None, Some("ru-RU,ru;q=0.9,en-US;q=0.8")), Lang::Ru);
        assert_eq!(negotiate(None, Some("de-DE, en;q=0.5, ru;q=0.4")), Lang::En);
        assert_eq!(negotiate(None, Some("en;q=0.3, ru;q=0.7")), Lang::Ru);
        assert_eq!(negotiate(None, Some("ru;q=0, en;q=0.1")), Lang::En);
        assert_eq!(negotiate(None, Some("fr")), Lang::En);
        assert_eq!(negotiate(Some("en"), Some("ru")), Lang::En);
        assert_eq!(negotiate(Some("xx"), Some("ru")), Lang::Ru);
    }
}

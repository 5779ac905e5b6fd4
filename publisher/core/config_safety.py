"""Safety checks across channels (DESIGN §7): tokens only over TLS, no file overwritten by a feed.

They run on the whole validated config, since most of them compare channels with each other or
with the config file, the ledger and the posts folder.  Errors raise ``ConfigError``; doubts
that may be intended come back as warnings.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from publisher.core.config import Config
from publisher.core.errors import ConfigError
from publisher.core.urls import is_loopback

#: Well-known variables that never hold a secret: naming one as token_env is a mistake.
NOT_SECRETS = frozenset({"PATH", "HOME", "USER", "SHELL", "PWD", "LANG", "TERM"})


def safety_warnings(config: Config) -> list[str]:
    """Raise ``ConfigError`` for an unsafe channel config; return the warnings."""
    from publisher.core.plugins import channel_type

    warnings: list[str] = []
    outputs: dict[Path, str] = {}
    seen: dict[tuple[str, str, str], str] = {}
    for name, channel in config.channels.items():
        declared = channel_type(channel.type)
        prefix = f"channels.{name}"
        named = {"token_env": channel.token_env, **channel.options}
        for key, variable in named.items():
            if key.endswith("_env") and variable in NOT_SECRETS:
                raise ConfigError(
                    f"{prefix}.{key}: {variable} is a well-known variable, not a secret",
                    f'name the variable that holds it, e.g. {key} = "PUBLISHER_{name.upper().replace("-", "_")}_TOKEN"',
                )
        if declared.token_url_key and channel.token_env:
            url = str(channel.options.get(declared.token_url_key) or "")
            warning = _token_url(f"{prefix}.{declared.token_url_key}", url, declared.service_hosts)
            warnings.extend([warning] if warning else [])
        for key in declared.unique_keys:
            value = str(channel.options.get(key))
            other = seen.setdefault((channel.type, key, value), name)
            if other != name:
                warnings.append(
                    f"{prefix}.{key}: channels {other!r} and {name!r} both post to {key} "
                    f"{value}; every post would go there twice"
                )
        for key in declared.output_keys:
            path = Path(str(channel.options[key]))
            where = f"{prefix}.{key}"
            _own_output(where, path, config)
            if path in outputs:
                raise ConfigError(
                    f"{where}: {path} is also the path of channel {outputs[path]!r}",
                    "give each channel its own file",
                )
            outputs[path] = name
    return warnings


def _token_url(where: str, url: str, service_hosts: tuple[str, ...]) -> str | None:
    """An error for a URL a token may not travel to; a warning for a host not the service's."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{where}: {url} is not https; the token would travel unencrypted",
            "use https:// (http:// is allowed only on 127.0.0.1, ::1 or localhost, for tests)",
        )
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{where}: {url!r} is not an https URL", "write the full https:// URL")
    own = any(host == name or host.endswith("." + name) for name in service_hosts)
    if service_hosts and not own and not is_loopback(host):
        return (
            f"{where}: {host} is not {' or '.join(service_hosts)}; the token will be sent "
            "there (remove the key to use the service itself)"
        )
    return None


def _own_output(where: str, path: Path, config: Config) -> None:
    """A channel's output file may not be the config, the ledger, or inside posts_dir."""
    if path == config.path:
        raise ConfigError(f"{where}: {path} is the config file itself", "write the feed elsewhere")
    if not config.state_is_url and path == Path(config.state):
        raise ConfigError(f"{where}: {path} is the ledger (publisher.state)", "write it elsewhere")
    if path == config.posts_dir or path.is_relative_to(config.posts_dir):
        raise ConfigError(
            f"{where}: {path} is inside posts_dir ({config.posts_dir})",
            "write it outside the posts folder, e.g. public/feed.xml",
        )

"""Settings: CLI flag, then COMMJOBS_* environment, then TOML file, then defaults."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from commjobs_tui.core.errors import UserError

APP_NAME = "commjobs"
ENV_PREFIX = "COMMJOBS_"
# Every request gets a finite timeout: a configured value above this, or 0, is capped.
MAX_REQUEST_TIMEOUT_SECONDS = 600.0

_toml_path: ContextVar[Path | None] = ContextVar("_toml_path", default=None)


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def user_state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return user_config_dir() / "config.toml"


class ModelPrice(BaseModel):
    """Price of one million tokens, in US dollars."""

    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4.1-mini": ModelPrice(input_per_million=0.40, output_per_million=1.60),
    "gpt-4.1-nano": ModelPrice(input_per_million=0.10, output_per_million=0.40),
    "gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.60),
    "offline": ModelPrice(input_per_million=0.0, output_per_million=0.0),
}


class Settings(BaseSettings):
    """Effective configuration of one commjobs process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
    )

    db: Path | None = Field(default=None, description="SQLite database file")
    provider: Literal["auto", "offline", "openai"] = Field(
        default="auto",
        description="model provider; auto picks openai when a key or base URL is set",
    )
    model: str = Field(default="gpt-4.1-mini", min_length=1, description="model name")
    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "base_url", "COMMJOBS_BASE_URL", "OPENAI_BASE_URL"
        ),
        description="chat-completions base URL (OpenAI, Azure, Ollama, vLLM)",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "COMMJOBS_OPENAI_API_KEY"),
        description="API key; read from the environment only, never stored",
    )
    concurrency: int = Field(default=8, ge=1, le=256, description="requests in flight")
    requests_per_minute: int = Field(default=500, ge=1, description="request limit")
    tokens_per_minute: int = Field(default=200_000, ge=100, description="token limit")
    request_timeout: float = Field(
        default=60.0, ge=0, description="seconds per request; capped at 600"
    )
    max_attempts: int = Field(default=5, ge=1, le=20, description="tries per email")
    org_name: str = Field(default="Our organisation", description="organisation name")
    signer_name: str = Field(default="The development team", description="signer")
    signer_title: str = Field(default="", description="signer's title")
    writing_guidelines: str = Field(
        default="Warm, specific and brief. Plain words. No more than 200 words.",
        description="house style given to the model",
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="US dollars per million input and output tokens, by model",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="log file level"
    )

    @field_validator("prices", mode="after")
    @classmethod
    def _merge_prices(cls, value: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        # Configured prices add to the built-in table instead of replacing it.
        return {**DEFAULT_PRICES, **value}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("request_timeout")
    @classmethod
    def _cap_timeout(cls, value: float) -> float:
        if value <= 0 or value > MAX_REQUEST_TIMEOUT_SECONDS:
            return MAX_REQUEST_TIMEOUT_SECONDS
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _toml_path.get()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def effective_provider(self) -> Literal["offline", "openai"]:
        if self.provider == "auto":
            # A local server (Ollama, vLLM, LM Studio) needs a base URL but no key.
            configured = self.openai_api_key is not None or bool(self.base_url)
            return "openai" if configured else "offline"
        return self.provider

    @property
    def database_path(self) -> Path:
        return self.db if self.db is not None else user_data_dir() / "commjobs.db"

    def price_for(self, model: str) -> ModelPrice | None:
        return self.prices.get(model)


@dataclass(frozen=True)
class LoadedSettings:
    """Settings with the source of each value: flag, env, file or default."""

    settings: Settings
    sources: dict[str, str]
    config_file: Path


_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "base_url": ("COMMJOBS_BASE_URL", "OPENAI_BASE_URL"),
    "openai_api_key": ("OPENAI_API_KEY", "COMMJOBS_OPENAI_API_KEY"),
}


def _env_names(field: str) -> tuple[str, ...]:
    return _ENV_NAMES.get(field, (ENV_PREFIX + field.upper(),))


def load_settings(
    cli: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> LoadedSettings:
    """Build the effective settings.

    Raises UserError naming a bad value and where it came from.
    """
    environ = os.environ if environ is None else environ
    cli_values = {k: v for k, v in (cli or {}).items() if v is not None}
    explicit = config_file is not None or bool(environ.get(ENV_PREFIX + "CONFIG"))
    if config_file is None:
        override = environ.get(ENV_PREFIX + "CONFIG")
        config_file = Path(override) if override else default_config_file()
    if explicit and not config_file.is_file():
        raise UserError(
            f"settings file {config_file} not found; check the path, or leave out "
            "--config (and COMMJOBS_CONFIG) to use the default file"
        )
    file_values = _read_toml(config_file)
    unknown = sorted(set(file_values) - set(Settings.model_fields))
    if unknown:
        raise UserError(
            f"{config_file}: unknown setting {unknown[0]!r}; "
            "`commjobs config show` lists the valid names"
        )
    if "openai_api_key" in file_values or "OPENAI_API_KEY" in file_values:
        raise UserError(
            f"{config_file}: API keys are not read from the config file; "
            "remove the key there and set OPENAI_API_KEY in the environment"
        )
    sources: dict[str, str] = {}
    for name in Settings.model_fields:
        env_hit = next((e for e in _env_names(name) if e in environ), None)
        if name in cli_values:
            sources[name] = "flag"
        elif env_hit is not None:
            sources[name] = f"env {env_hit}"
        elif name in file_values:
            sources[name] = f"file {config_file}"
        else:
            sources[name] = "default"
    token = _toml_path.set(config_file if file_values else None)
    saved_env = _swap_environ(environ)
    try:
        settings = Settings(**cli_values)
    except ValidationError as exc:
        raise UserError(_describe_validation_error(exc, sources)) from None
    except SettingsError as exc:
        # Raised for environment values of structured settings that are not JSON.
        raise UserError(
            f"invalid setting: {exc}; structured settings such as prices "
            "belong in the settings file"
        ) from None
    finally:
        _restore_environ(saved_env)
        _toml_path.reset(token)
    return LoadedSettings(settings=settings, sources=sources, config_file=config_file)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            f"{path}: invalid TOML ({exc}); fix the file or remove it"
        ) from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; name a TOML settings file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read config file ({exc.strerror})") from None


def _swap_environ(environ: Mapping[str, str]) -> dict[str, str] | None:
    # pydantic-settings reads os.environ; a caller-supplied mapping replaces it briefly.
    if environ is os.environ:
        return None
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    return saved


def _restore_environ(saved: dict[str, str] | None) -> None:
    if saved is None:
        return
    os.environ.clear()
    os.environ.update(saved)


def _describe_validation_error(exc: ValidationError, sources: dict[str, str]) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    origin = sources.get(field, "input")
    value = first.get("input")
    if field in ("openai_api_key", "OPENAI_API_KEY"):
        value = "***"
    return f"invalid setting {field}={value!r} (from {origin}): {first['msg']}"


def describe_settings(loaded: LoadedSettings) -> list[tuple[str, str, str]]:
    """Return (name, value, source) rows with secrets masked."""
    rows: list[tuple[str, str, str]] = []
    settings = loaded.settings
    for name in Settings.model_fields:
        value: Any = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = _mask(value.get_secret_value())
        elif name == "db":
            shown = str(settings.database_path)
        elif name == "prices":
            shown = ", ".join(
                f"{model}={p.input_per_million}/{p.output_per_million}"
                for model, p in sorted(value.items())
            )
        elif value is None:
            shown = "(not set)"
        elif value == "":
            shown = "(empty)"
        else:
            shown = str(value)
        rows.append((name, shown, loaded.sources[name]))
    rows.append(("provider (effective)", settings.effective_provider, "derived"))
    return rows


def _mask(secret: str) -> str:
    if len(secret) <= 8:
        return "****"
    return f"{secret[:3]}...{secret[-4:]}"

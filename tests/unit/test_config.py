import typing
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from monitor.config import Config, DatabaseConfig, load_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "exowatch.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_config_toml_loads_and_matches_the_defaults():
    config = load_config(ROOT / "config.toml", env={})
    defaults = Config()
    assert config.status == defaults.status
    assert config.database.batch_size == defaults.database.batch_size
    assert config.database.busy_timeout_seconds == defaults.database.busy_timeout_seconds
    assert config.database.url == f"sqlite:///{ROOT / 'exowatch.db'}"


def test_defaults_without_any_file_use_a_sqlite_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.database.url == f"sqlite:///{tmp_path / 'exowatch.db'}"
    assert config.source == "(built-in defaults)"


def test_values_are_typed_and_frozen(tmp_path):
    path = write(tmp_path, "[database]\nbusy_timeout_seconds = 5\nbatch_size = 100\n")
    config = load_config(path, env={})
    assert config.database.busy_timeout_seconds == 5.0
    assert isinstance(config.database.busy_timeout_seconds, float)
    assert config.database.batch_size == 100
    with pytest.raises(FrozenInstanceError):
        config.database.batch_size = 1  # type: ignore[misc]


def test_relative_sqlite_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    path = write(tmp_path, '[database]\nurl = "sqlite:///data/x.db"\n')
    assert load_config(path, env={}).database.url == f"sqlite:///{tmp_path / 'data' / 'x.db'}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[database]\nurll = 'x'\n", "unknown key 'database.urll'"),
        ("[databse]\nurl = 'x'\n", "unknown key 'databse'"),
        (
            "[database]\nbatch_size = 'ten'\n",
            "key 'database.batch_size' must be an integer, got string 'ten'",
        ),
        ("[database]\nbatch_size = true\n", "key 'database.batch_size' must be an integer, got a boolean"),
        ("[database]\nbatch_size = 0\n", "key 'database.batch_size' must be an integer from 1 to 10000"),
        ("[database]\nurl = 5\n", "key 'database.url' must be a string, got int 5"),
        ("[database]\nurl = 'mysql://x/y'\n", "key 'database.url' must be a sqlite:/// or postgresql:// URL"),
        ("database = 3\n", "key 'database' must be a table [database], got int 3"),
        ("[status]\nlatest_events = 1.5\n", "key 'status.latest_events' must be an integer, got float 1.5"),
        ("[database\n", "invalid TOML"),
        (
            "[database]\nbusy_timeout_seconds = inf\n",
            "busy_timeout_seconds' must be a number of seconds from 0 to 3600",
        ),
        (
            "[database]\nurl = 'postgresql://u@host:notaport/db'\n",
            "must be a sqlite:/// or postgresql:// URL",
        ),
        ("[database]\nurl = 'postgresql://[::1'\n", "must be a sqlite:/// or postgresql:// URL"),
        ("[database]\nurl = 'sqlite:rel.db'\n", "must be a sqlite:/// or postgresql:// URL"),
        ("[database]\nurl = 'postgresql+asyncpg://u@h/db'\n", "must be a sqlite:/// or postgresql:// URL"),
        ("[crawl]\nallow_hosts = ['*']\n", "key 'crawl.allow_hosts' must be hosts the gate can allow"),
        ("[crawl]\nallow_hosts = ['0.0.0.0/0']\n", "patterns and networks are not allowed"),
        (
            "[sources.fda_warning_letters]\nlisting_endpoint = 'ajax'\n",
            "key 'sources.fda_warning_letters.listing_endpoint' must be \"datatables\" or \"views\"",
        ),
        (
            "[sources.fda_warning_letters]\npages_per_run = 0\n",
            "key 'sources.fda_warning_letters.pages_per_run' must be an integer from 1 to 100000",
        ),
        (
            "[sources.fda_warning_letters]\npages_per_run = '200'\n",
            "key 'sources.fda_warning_letters.pages_per_run' must be an integer, got string '200'",
        ),
        (
            "[sources.fda_warning_letters]\npages_per_rn = 5\n",
            "unknown key 'sources.fda_warning_letters.pages_per_rn'",
        ),
    ],
)
def test_bad_config_is_one_line_naming_file_key_and_expectation(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_letter_pages_per_run_defaults_to_200_and_is_read_from_the_file(tmp_path):
    assert Config().sources.fda_warning_letters.pages_per_run == 200
    assert load_config(ROOT / "config.toml", env={}).sources.fda_warning_letters.pages_per_run == 200
    path = write(tmp_path, "[sources.fda_warning_letters]\npages_per_run = 1000\n")
    config = load_config(path, env={})
    assert config.sources.fda_warning_letters.pages_per_run == 1000
    assert config.sources.fda_warning_letters.page_size == 100  # the rest keeps its defaults


def test_unknown_key_lists_the_allowed_keys(tmp_path):
    path = write(tmp_path, "[database]\npassword = 'hunter2'\n")
    with pytest.raises(
        ConfigError, match=r"keys allowed in \[database\]: batch_size, busy_timeout_seconds, url"
    ):
        load_config(path, env={})


def test_missing_and_unreadable_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "nope.toml", env={})
    binary = tmp_path / "junk.toml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary, env={})


def test_environment_names_the_file_and_overrides_the_database_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, '[database]\nurl = "sqlite:///from-file.db"\nbatch_size = 7\n')
    config = load_config(env={"EXOWATCH_CONFIG": str(path)})
    assert config.database.batch_size == 7
    assert config.database.url.endswith("from-file.db")
    secret = "postgresql://exo:s3cret@db.internal/exowatch"
    config = load_config(env={"EXOWATCH_CONFIG": str(path), "EXOWATCH_DATABASE_URL": secret})
    assert config.database.url == secret
    assert config.database.batch_size == 7


def test_bad_database_url_in_the_environment_names_the_variable():
    with pytest.raises(
        ConfigError, match="^EXOWATCH_DATABASE_URL: expected a sqlite:/// or postgresql:// URL$"
    ):
        load_config(env={"EXOWATCH_DATABASE_URL": "oracle://x"})


def test_sections_validate_when_built_in_code_too():
    import monitor.config as config

    with pytest.raises(config._ValueProblem):
        DatabaseConfig(batch_size=0)
    with pytest.raises(config._ValueProblem):
        config.CrawlConfig(delist_after=0)


def test_a_password_in_the_file_is_refused(tmp_path):
    path = write(tmp_path, '[database]\nurl = "postgresql://exo:hunter2@db/exowatch"\n')
    with pytest.raises(ConfigError, match="holds a password; secrets belong in EXOWATCH_DATABASE_URL"):
        load_config(path, env={})


def _obsolete(owner, name: str) -> bool:
    import dataclasses

    return any(f.name == name and f.metadata.get("obsolete") for f in dataclasses.fields(owner))


def test_an_obsolete_key_still_loads_and_does_nothing(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[crawl]\nextract_workers = 0\n", encoding="utf-8")
    assert load_config(path, env={}).crawl.extract_workers == 0  # read; no crawl looks at it


def test_every_key_is_in_the_shipped_file_and_the_readme():
    """config.toml and the README's table document every key the loader accepts."""
    import dataclasses
    import tomllib

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shipped = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))

    def keys(cls, prefix=()):
        for spec in dataclasses.fields(cls):
            if not spec.metadata.get("toml", True):
                continue
            default = (
                spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
            )
            if dataclasses.is_dataclass(default):
                yield from keys(type(default), (*prefix, spec.name))
            else:
                yield (*prefix, spec.name)

    config_text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for path in keys(Config):
        table, name = ".".join(path[:-1]), path[-1]
        owner = Config
        for part in path[:-1]:
            owner = type(getattr(owner(), part))
        item = typing.get_args(typing.get_type_hints(owner)[name])
        if item and dataclasses.is_dataclass(item[0]):
            # a list of tables ([[sources.clinic_listings]]): documented key by key, shipped as
            # commented examples (the shipped config crawls no clinic source of its own)
            array = f"{table}.{name}" if table else name
            assert f"# [[{array}]]" in config_text, f"config.toml shows no commented [[{array}]] example"
            for inner in dataclasses.fields(item[0]):
                assert f"`[[{array}]] {inner.name}`" in readme, (
                    f"README does not document [[{array}]] {inner.name}"
                )
            continue
        assert f"`[{table}] {name}`" in readme, f"README does not document [{table}] {name}"
        if _obsolete(owner, name):  # read so that older configs load; not shipped any more
            continue
        node = shipped
        for part in path:
            assert part in node, f"config.toml lacks [{table}] {name}"
            node = node[part]


def test_the_commented_clinic_listing_examples_are_a_valid_config(tmp_path):
    """Uncommented, the examples between the markers of config.toml load: one of every kind."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    block = text.split(EXAMPLES_START, 1)[1].split(EXAMPLES_END, 1)[0]
    lines = [line.strip() for line in block.splitlines()]
    toml = "\n".join(
        line[2:] if line.startswith("# ") else "" for line in lines if not line.startswith("# #")
    )
    path = tmp_path / "examples.toml"
    path.write_text(toml, encoding="utf-8")
    config = load_config(path, env={})
    assert {source.kind for source in config.sources.clinic_listings} == {
        "schema_org",
        "locator_json",
        "html",
        "url_list",
    }


EXAMPLES_START = "# --- clinic listing examples"
EXAMPLES_END = "# --- end of clinic listing examples"

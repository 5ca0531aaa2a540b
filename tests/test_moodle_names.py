"""Archive entry names from Moodle's "download all submissions"."""
from grader.lms.moodle.archive_names import infer_groups, name_key, parse_entry_name


def test_in_folders_layout_gives_participant_and_path():
    entry = parse_entry_name("Ana Pérez_1234567_assignsubmission_file_/mnist_cnn.ipynb")
    assert entry.full_name == "Ana Pérez"
    assert entry.participant == "1234567"
    assert entry.relpath == "mnist_cnn.ipynb"
    assert entry.group is None and not entry.blind


def test_student_subfolders_are_kept_in_relpath():
    entry = parse_entry_name("Ana Pérez_12_assignsubmission_file_/sub/dir/a.ipynb")
    assert entry.relpath == "sub/dir/a.ipynb"


def test_flat_layout_keeps_underscores_of_the_file_name():
    entry = parse_entry_name("Ana Pérez_1234567_assignsubmission_file_mnist_cnn_v2.ipynb")
    assert (entry.participant, entry.relpath) == ("1234567", "mnist_cnn_v2.ipynb")


def test_number_is_taken_before_assignsubmission_not_from_a_fixed_prefix():
    entry = parse_entry_name("Luis 2 Gil_98_assignsubmission_file_/x_77_assignsubmission_file_y.ipynb")
    assert entry.full_name == "Luis 2 Gil"
    assert entry.participant == "98"
    assert entry.relpath == "x_77_assignsubmission_file_y.ipynb"


def test_blind_marking_in_english_and_spanish():
    english = parse_entry_name("Participant_555_assignsubmission_file_/a.ipynb")
    spanish = parse_entry_name("Participante_556_assignsubmission_file_a.ipynb")
    assert english.blind and english.full_name == "Participant" and english.participant == "555"
    assert spanish.blind and spanish.participant == "556"


def test_accents_and_commas_in_names_survive():
    entry = parse_entry_name("Pérez Núñez, María José_42_assignsubmission_file_/p.ipynb")
    assert entry.full_name == "Pérez Núñez, María José"


def test_default_team_prefix_is_split_off():
    entry = parse_entry_name("Default group-Ana Pérez_7_assignsubmission_file_/a.ipynb")
    assert entry.group == "Default group"
    assert entry.full_name == "Ana Pérez"


def test_known_team_prefix_is_split_and_hyphenated_names_are_not():
    team = parse_entry_name("Team A-Ana Pérez_7_assignsubmission_file_/a.ipynb", groups={"Team A"})
    person = parse_entry_name("Jean-Luc Picard_8_assignsubmission_file_/a.ipynb", groups={"Team A"})
    assert (team.group, team.full_name) == ("Team A", "Ana Pérez")
    assert (person.group, person.full_name) == (None, "Jean-Luc Picard")


def test_blind_team_entry_splits_at_the_participant_word():
    entry = parse_entry_name("Grupo-B-Participant_9_assignsubmission_file_/a.ipynb")
    assert (entry.group, entry.full_name, entry.blind) == ("Grupo-B", "Participant", True)


def test_team_names_are_inferred_from_members_sharing_a_prefix():
    prefixes = [("Grupo-A-Ana Pérez", "1"), ("Grupo-A-Luis Gil", "2"), ("Solo-Eva Ruiz", "3")]
    assert infer_groups(prefixes) == {"Grupo-A", "Solo"}


def test_hyphenated_names_alone_are_not_teams():
    assert infer_groups([("Jean-Luc Picard", "1"), ("Ana Pérez", "2")]) == set()
    assert infer_groups([("Jean-Luc Picard", "1")]) == set()


def test_names_that_are_not_moodle_entries_give_none():
    assert parse_entry_name("mnist_cnn.ipynb") is None
    assert parse_entry_name("Ana_assignsubmission_file_/a.ipynb") is None


def test_name_key_strips_what_moodle_strips():
    assert name_key("Seán  O'Connor") == name_key("Seán OConnor")
    assert name_key("Ana_Pérez") == name_key("ana pérez")
    assert name_key("Ana Pérez") != name_key("Ana Perez")   # accents are kept

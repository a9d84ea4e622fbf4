// `cdat <command> --help`: every configuration key of train and sweep shows its type and default under its
// group's heading, and every option of every command shows its type (and numbers their default).
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "train/run_config.h"

namespace cdat::cli {
namespace {

// The help of one command, its option lines by heading ("Options", "Data", ...).
std::map<std::string, std::vector<std::string>> help_sections(const CLI::App& command) {
  std::map<std::string, std::vector<std::string>> sections;
  std::istringstream help(command.help());
  std::string heading;
  for (std::string line; std::getline(help, line);) {
    if (!line.empty() && line[0] != ' ' && line.back() == ':') heading = line.substr(0, line.size() - 1);
    if (line.rfind("  -", 0) == 0) sections[heading].push_back(line);
  }
  return sections;
}

// What help shows after --key: its type, then its default in brackets where it has one.
std::string expected_opts(const train::KeyInfo& key) {
  const std::map<train::KeyType, std::string> types = {{train::KeyType::kString, "TEXT"},
                                                      {train::KeyType::kInt, "INT"},
                                                      {train::KeyType::kDouble, "FLOAT"},
                                                      {train::KeyType::kBool, "BOOL"}};
  const std::string type = key.name == "batch-size" ? "INT|full" : types.at(key.type);
  const std::string value = train::get_key(train::RunConfig{}, key.name);
  return type + (value.empty() ? "" : " [" + value + "]");
}

// The line of `lines` for --name, or "" (the name is followed by a space or ends the line).
std::string line_of(const std::vector<std::string>& lines, const std::string& name) {
  for (const auto& line : lines) {
    if (line.rfind("  " + name, 0) == 0 && (line.size() == name.size() + 2 || line[name.size() + 2] == ' ')) return line;
  }
  return "";
}

std::string trim_left(const std::string& text) {
  const auto first = text.find_first_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first);
}

TEST(CliHelp, TrainAndSweepShowEveryKeysTypeAndDefaultUnderItsGroup) {
  const auto app = make_app();
  for (const std::string command : {"train", "sweep"}) {
    const auto sections = help_sections(*app->get_subcommand(command));
    for (const auto& key : train::config_keys()) {
      ASSERT_TRUE(sections.count(key.group)) << command << ": no heading '" << key.group << ":'";
      const std::string line = line_of(sections.at(key.group), "--" + key.name);
      ASSERT_FALSE(line.empty()) << command << ": --" << key.name << " is not under '" << key.group << ":'";
      const std::string shown = "  --" + key.name + " " + expected_opts(key);
      // the type and default, then nothing or the padding and the description (it moves to the next line
      // after a long flag)
      const bool described = line.rfind(shown + " ", 0) == 0 && trim_left(line.substr(shown.size())) == key.help;
      EXPECT_TRUE(line == shown || described) << command << ": '" << line << "', expected '" << shown << "'";
    }
  }
}

TEST(CliHelp, EveryOptionOfEveryCommandShowsItsTypeAndNumbersTheirDefault) {
  const auto app = make_app();
  for (const CLI::App* command : app->get_subcommands([](const CLI::App*) { return true; })) {
    const std::string help = command->help();
    for (const CLI::Option* option : command->get_options()) {
      if (option->get_items_expected_max() == 0) continue;  // a flag such as --quiet: no value
      const std::string name = option->get_name(false, true), type = option->get_type_name();
      const std::string value = option->get_default_str(), where = command->get_name() + " " + name;
      const bool number = type.rfind("INT", 0) == 0 || type.rfind("FLOAT", 0) == 0;
      EXPECT_FALSE(type.empty()) << where << ": no type";
      EXPECT_TRUE(!number || !value.empty()) << where << ": a number without its default";
      EXPECT_TRUE(value.empty() || help.find(name + " " + type + " [" + value + "]") != std::string::npos)
          << where << ": help does not show '" << type << " [" << value << "]'";
    }
  }
}

}  // namespace
}  // namespace cdat::cli

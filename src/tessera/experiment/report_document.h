// A report written once and rendered twice: as Markdown (report.md, figures
// linked) and as self-contained HTML (report.html, figures inline as
// base64 PNG). Text is given plain; each rendering escapes it as it needs.
#pragma once

#include <string>
#include <vector>

namespace tessera::experiment {

class ReportDocument {
 public:
  explicit ReportDocument(const std::string& title);

  void heading(int level, const std::string& text);  // level 2 or 3
  // A paragraph whose optional lead is bold.
  void paragraph(const std::string& bold_lead, const std::string& text);
  void list(const std::string& intro, const std::vector<std::string>& items);
  // Rows shorter than the header are padded with empty cells.
  void table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  // `link` is the PNG's path relative to the report (Markdown); `png` its
  // bytes (HTML).
  void figure(const std::string& link, const std::string& png, const std::string& caption);
  // A highlighted block (HTML only; Markdown has none).
  void open_box();
  void close_box();

  std::string markdown() const { return md_; }
  std::string html() const { return html_ + "</body></html>\n"; }

 private:
  std::string md_, html_;
};

std::string base64(const std::string& bytes);
std::string html_escape(const std::string& text);

}  // namespace tessera::experiment

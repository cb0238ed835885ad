#include "tessera/experiment/report_document.h"

namespace tessera::experiment {

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    if (i + 1 < in.size()) v |= (unsigned char)in[i + 1] << 8;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

ReportDocument::ReportDocument(const std::string& title) {
  md_ = "# " + title + "\n\n";
  html_ =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
      "</title><style>"
      "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px "
      "8px;text-align:right}"
      "th{background:#eee}td:first-child{text-align:left}img{max-width:100%}figure{margin:1.5em 0}"
      ".rec{background:#eef6ee;border-left:4px solid #2a2;padding:.5em "
      "1em}</style></head><body>\n<h1>" +
      html_escape(title) + "</h1>\n";
}

void ReportDocument::heading(int level, const std::string& text) {
  const std::string h = std::to_string(level);
  md_ += std::string(std::size_t(level), '#') + " " + text + "\n\n";
  html_ += "<h" + h + ">" + html_escape(text) + "</h" + h + ">\n";
}

void ReportDocument::paragraph(const std::string& lead, const std::string& text) {
  const std::string space = !lead.empty() && !text.empty() ? " " : "";
  md_ += (lead.empty() ? "" : "**" + lead + "**") + space + text + "\n\n";
  html_ += "<p>" + (lead.empty() ? "" : "<b>" + html_escape(lead) + "</b>") + space +
           html_escape(text) + "</p>\n";
}

void ReportDocument::list(const std::string& intro, const std::vector<std::string>& items) {
  md_ += intro + "\n\n";
  html_ += "<p>" + html_escape(intro) + "</p><ul>";
  for (const auto& item : items) {
    md_ += "- " + item + "\n";
    html_ += "<li>" + html_escape(item) + "</li>";
  }
  md_ += "\n";
  html_ += "</ul>\n";
}

void ReportDocument::table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows) {
  md_ += "|";
  html_ += "<table><tr>";
  for (const auto& h : header) {
    md_ += " " + h + " |";
    html_ += "<th>" + html_escape(h) + "</th>";
  }
  md_ += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) md_ += "---|";
  md_ += "\n";
  html_ += "</tr>";
  for (const auto& row : rows) {
    md_ += "|";
    html_ += "<tr>";
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      md_ += " " + cell + " |";
      html_ += "<td>" + html_escape(cell) + "</td>";
    }
    md_ += "\n";
    html_ += "</tr>";
  }
  md_ += "\n";
  html_ += "</table>\n";
}

void ReportDocument::figure(const std::string& link, const std::string& png,
                            const std::string& caption) {
  md_ += "![" + caption + "](" + link + ")\n\n*" + caption + "*\n\n";
  html_ += "<figure><img alt=\"" + html_escape(caption) + "\" src=\"data:image/png;base64," +
           base64(png) + "\"><figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
}

void ReportDocument::open_box() {
  html_ += "<div class=\"rec\">";
}
void ReportDocument::close_box() {
  html_ += "</div>\n";
}

}  // namespace tessera::experiment

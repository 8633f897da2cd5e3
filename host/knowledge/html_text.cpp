// HTML reduced to text through gumbo (an HTML5 parser: entities decoded,
// broken markup repaired as browsers do): <h1>..<h6> open sections, block
// elements end paragraphs, page furniture and code that is not text is
// dropped.
#include "core/error.hpp"
#include "core/text.hpp"
#include "knowledge/document_formats.hpp"

#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <memory>

namespace sb::knowledge::detail {

namespace {

// Real pages nest a few dozen levels deep; browsers stop laying out past 512.
constexpr size_t kMaxHtmlNesting = 1000;

enum class TagRole : unsigned char {
  inline_text,  // text runs on through it
  block,        // ends the paragraph before and after it
  dropped,      // neither it nor anything inside it is text
  table_cell,   // a cell: " | " between the cells of a row
  line_break,   // <br>, <hr>: ends the paragraph
};

constexpr std::array<TagRole, GUMBO_TAG_LAST + 1> kRoles = [] {
  std::array<TagRole, GUMBO_TAG_LAST + 1> roles{};
  for (const GumboTag tag :
       {GUMBO_TAG_ADDRESS, GUMBO_TAG_ARTICLE, GUMBO_TAG_ASIDE, GUMBO_TAG_BLOCKQUOTE, GUMBO_TAG_BODY,
        GUMBO_TAG_CAPTION, GUMBO_TAG_CENTER, GUMBO_TAG_DD, GUMBO_TAG_DETAILS, GUMBO_TAG_DIR,
        GUMBO_TAG_DIV, GUMBO_TAG_DL, GUMBO_TAG_DT, GUMBO_TAG_FIELDSET, GUMBO_TAG_FIGCAPTION, GUMBO_TAG_FIGURE,
        GUMBO_TAG_FORM, GUMBO_TAG_HTML, GUMBO_TAG_LEGEND, GUMBO_TAG_LI, GUMBO_TAG_MAIN, GUMBO_TAG_MENU,
        GUMBO_TAG_OL, GUMBO_TAG_P, GUMBO_TAG_PRE, GUMBO_TAG_SECTION, GUMBO_TAG_SUMMARY, GUMBO_TAG_TABLE,
        GUMBO_TAG_TBODY, GUMBO_TAG_THEAD, GUMBO_TAG_TFOOT, GUMBO_TAG_TR, GUMBO_TAG_UL, GUMBO_TAG_HEAD,
        GUMBO_TAG_LISTING, GUMBO_TAG_PLAINTEXT, GUMBO_TAG_XMP, GUMBO_TAG_HGROUP}) {
    roles[tag] = TagRole::block;
  }
  // Besides the page furniture (navigation, site header and footer), code
  // and embedded objects: nothing a reader would cite.
  for (const GumboTag tag :
       {GUMBO_TAG_SCRIPT, GUMBO_TAG_STYLE, GUMBO_TAG_NOSCRIPT, GUMBO_TAG_TEMPLATE, GUMBO_TAG_NAV, GUMBO_TAG_HEADER,
        GUMBO_TAG_FOOTER, GUMBO_TAG_SVG, GUMBO_TAG_MATH, GUMBO_TAG_CANVAS, GUMBO_TAG_IFRAME, GUMBO_TAG_OBJECT,
        GUMBO_TAG_EMBED, GUMBO_TAG_SELECT, GUMBO_TAG_DATALIST, GUMBO_TAG_AUDIO, GUMBO_TAG_VIDEO, GUMBO_TAG_MAP,
        GUMBO_TAG_TITLE}) {
    roles[tag] = TagRole::dropped;
  }
  roles[GUMBO_TAG_TD] = TagRole::table_cell;
  roles[GUMBO_TAG_TH] = TagRole::table_cell;
  roles[GUMBO_TAG_BR] = TagRole::line_break;
  roles[GUMBO_TAG_HR] = TagRole::line_break;
  return roles;
}();

int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

struct GumboOutputDeleter {
  void operator()(GumboOutput* output) const { gumbo_destroy_output(&kGumboDefaultOptions, output); }
};

// The text of every text node under `node`, as one string.
void append_text_of(const GumboNode* node, std::string& out) {
  if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE || node->type == GUMBO_NODE_CDATA) {
    out += node->v.text.text;
    return;
  }
  if (node->type != GUMBO_NODE_ELEMENT) return;
  const GumboVector& children = node->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) append_text_of(static_cast<const GumboNode*>(children.data[i]), out);
}

class HtmlReader {
 public:
  ExtractedText read(const GumboOutput& output) {
    walk(output.root);
    ExtractedText extracted;
    extracted.sections = builder_.finish();
    extracted.title = title_.empty() ? builder_.first_top_heading() : title_;
    return extracted;
  }

 private:
  // A depth-first walk with an explicit stack: a hostile page can nest
  // elements deeper than the thread's stack would allow recursion.
  struct Frame {
    const GumboNode* node;
    unsigned next_child;
  };

  void walk(const GumboNode* root) {
    std::vector<Frame> stack;
    if (enter(root)) stack.push_back({root, 0});
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const GumboVector& children = frame.node->v.element.children;
      if (frame.next_child == children.length) {
        leave(frame.node);
        stack.pop_back();
        continue;
      }
      const auto* child = static_cast<const GumboNode*>(children.data[frame.next_child++]);
      if (enter(child)) stack.push_back({child, 0});
    }
  }

  // Handles the start of `node`; whether its children are to be walked.
  bool enter(const GumboNode* node) {
    switch (node->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        text(node->v.text.text);
        return false;
      case GUMBO_NODE_ELEMENT:
        break;
      default:
        return false;  // comments, templates
    }
    const GumboElement& element = node->v.element;
    if (element.tag == GUMBO_TAG_TITLE && title_.empty()) {
      std::string title;
      append_text_of(node, title);
      title_ = collapse_whitespace(title);
    }
    if (gumbo_get_attribute(&element.attributes, "hidden") != nullptr) return false;
    // An article's own header and footer (its title, its date) are text;
    // only the page's are furniture.
    if (kRoles[element.tag] == TagRole::dropped && !(is_header_or_footer(element.tag) && article_depth_ > 0)) {
      return false;
    }
    if (const int level = heading_level(element.tag); level != 0) {
      // A heading inside a heading (invalid, but seen) stays text of the outer one.
      if (heading_level_ == 0) {
        builder_.end_paragraph();
        heading_level_ = level;
        heading_text_.clear();
        heading_node_ = node;
      }
      return true;
    }
    if (element.tag == GUMBO_TAG_ARTICLE || element.tag == GUMBO_TAG_MAIN) ++article_depth_;
    switch (kRoles[element.tag]) {
      case TagRole::block:
      case TagRole::dropped:  // an article's header or footer
        break_paragraph();
        if (element.tag == GUMBO_TAG_TR) cells_in_row_ = 0;
        break;
      case TagRole::line_break:
        break_paragraph();
        break;
      case TagRole::table_cell:
        if (cells_in_row_++ > 0) text(" | ");
        break;
      default:
        break;
    }
    return true;
  }

  void leave(const GumboNode* node) {
    const GumboElement& element = node->v.element;
    if (node == heading_node_) {
      builder_.heading(heading_level_, heading_text_);
      heading_level_ = 0;
      heading_node_ = nullptr;
      return;
    }
    if (element.tag == GUMBO_TAG_ARTICLE || element.tag == GUMBO_TAG_MAIN) --article_depth_;
    const TagRole role = kRoles[element.tag];
    if (role == TagRole::block || role == TagRole::dropped) break_paragraph();  // dropped: an article's header
  }

  static bool is_header_or_footer(GumboTag tag) { return tag == GUMBO_TAG_HEADER || tag == GUMBO_TAG_FOOTER; }

  void text(const char* content) {
    if (heading_level_ != 0) {
      heading_text_ += content;
    } else {
      builder_.add_text(content);
    }
  }

  void break_paragraph() {
    if (heading_level_ != 0) {
      heading_text_ += ' ';
    } else {
      builder_.end_paragraph();
    }
  }

  SectionBuilder builder_;
  std::string title_;
  int article_depth_ = 0;
  int cells_in_row_ = 0;
  int heading_level_ = 0;  // non-zero inside a heading
  const GumboNode* heading_node_ = nullptr;
  std::string heading_text_;
};

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// How deeply the elements of `html` nest, estimated from its tags without
// parsing it: void elements and those whose end tag may be left out are
// not counted (so the estimate errs low), the text of raw-text elements is
// skipped. Gumbo's tree building takes time in proportion to the depth for
// every element, so a page of nothing but nested tags would keep it busy
// for minutes; this finds one in a single pass.
size_t estimated_nesting_depth(std::string_view html) {
  size_t depth = 0, deepest = 0;
  size_t at = 0;
  while ((at = html.find('<', at)) != std::string_view::npos) {
    if (html.substr(at, 4) == "<!--") {
      at = html.find("-->", at + 4);
      if (at == std::string_view::npos) break;
      continue;
    }
    const bool closing = at + 1 < html.size() && html[at + 1] == '/';
    size_t name_end = at + (closing ? 2 : 1);
    const size_t name_start = name_end;
    while (name_end < html.size() && name_end - name_start < 12 && std::isalnum(static_cast<unsigned char>(html[name_end]))) {
      ++name_end;
    }
    if (name_end == name_start || !std::isalpha(static_cast<unsigned char>(html[name_start]))) {
      ++at;
      continue;
    }
    const std::string name = ascii_lower(html.substr(name_start, name_end - name_start));
    const size_t tag_end = html.find('>', name_end);
    if (tag_end == std::string_view::npos) break;
    at = tag_end + 1;
    if (is_one_of(name, {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                         "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead",
                         "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head", "body"})) {
      continue;
    }
    if (closing) {
      if (depth > 0) --depth;
      continue;
    }
    if (html[tag_end - 1] == '/') continue;  // <x/>
    if (is_one_of(name, {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"})) {
      // Raw text up to the end tag (whatever its case) holds no elements.
      const std::string end_tag = "</" + name;
      size_t search = at;
      while ((search = html.find("</", search)) != std::string_view::npos) {
        if (starts_with_ascii_ci(html.substr(search), end_tag)) break;
        search += 2;
      }
      at = search == std::string_view::npos ? html.size() : search;
      continue;
    }
    deepest = std::max(deepest, ++depth);
  }
  return deepest;
}

}  // namespace

ExtractedText extract_html(std::string_view bytes) {
  bytes = without_utf8_bom(bytes);
  // HTML that is not UTF-8 is, by the HTML standard's fallback and in
  // practice, Windows-1252 (a superset of Latin-1).
  std::string converted;
  if (!is_valid_utf8(bytes)) {
    converted = windows_1252_to_utf8(bytes);
    bytes = converted;
  }
  if (estimated_nesting_depth(bytes) > kMaxHtmlNesting) {
    throw Error(ErrorCode::invalid_argument, kHtmlTooDeep);
  }
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;  // parse errors are not reported to anyone: don't collect them
  const std::unique_ptr<GumboOutput, GumboOutputDeleter> output(
      gumbo_parse_with_options(&options, bytes.data(), bytes.size()));
  if (!output) throw Error(ErrorCode::invalid_argument, "the HTML could not be read");
  return HtmlReader().read(*output);
}

}  // namespace sb::knowledge::detail

// Media types by extension.
#include "mime/mime_types.h"

#include <gtest/gtest.h>

namespace tern::mime {
namespace {

TEST(MimeTypesTest, CommonExtensions) {
  EXPECT_EQ(mime_type_for("a.txt"), "text/plain");
  EXPECT_EQ(mime_type_for("index.html"), "text/html");
  EXPECT_EQ(mime_type_for("index.htm"), "text/html");
  EXPECT_EQ(mime_type_for("report.pdf"), "application/pdf");
  EXPECT_EQ(mime_type_for("photo.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("photo.jpeg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("logo.png"), "image/png");
  EXPECT_EQ(mime_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type_for("data.json"), "application/json");
  EXPECT_EQ(mime_type_for("a.docx"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(mime_type_for("invite.ics"), "text/calendar");
  EXPECT_EQ(mime_type_for("fwd.eml"), "message/rfc822");
  EXPECT_EQ(mime_type_for("song.mp3"), "audio/mpeg");
  EXPECT_EQ(mime_type_for("clip.webm"), "video/webm");
}

TEST(MimeTypesTest, EveryListedExtensionIsKnown) {
  for (const char* ext :
       {"txt", "html", "htm",  "css",  "csv",  "json", "xml", "pdf", "png", "jpg", "jpeg",
        "gif", "svg",  "webp", "ico",  "zip",  "gz",   "tgz", "tar", "bz2", "xz",  "7z",
        "doc", "docx", "xls",  "xlsx", "ppt",  "pptx", "odt", "ods", "odp", "rtf", "mp3",
        "wav", "ogg",  "mp4",  "mov",  "webm", "ics",  "vcf", "eml"}) {
    EXPECT_NE(mime_type_for(std::string("f.") + ext), "application/octet-stream") << ext;
  }
}

TEST(MimeTypesTest, CaseInsensitiveAndLastExtension) {
  EXPECT_EQ(mime_type_for("REPORT.PDF"), "application/pdf");
  EXPECT_EQ(mime_type_for("Photo.JpEg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("backup.tar.gz"), "application/gzip");
  EXPECT_EQ(mime_type_for("dir.d/file.txt"), "text/plain");
}

TEST(MimeTypesTest, DefaultIsOctetStream) {
  EXPECT_EQ(mime_type_for("README"), "application/octet-stream");
  EXPECT_EQ(mime_type_for(".profile"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("a.unknownext"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("trailingdot."), "application/octet-stream");
  EXPECT_EQ(mime_type_for("dir.pdf/noext"), "application/octet-stream");
  EXPECT_EQ(mime_type_for(""), "application/octet-stream");
}

}  // namespace
}  // namespace tern::mime

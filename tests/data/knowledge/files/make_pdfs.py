#!/usr/bin/env python3
"""Writes the small PDF fixtures of tests/unit/knowledge/document_text_test.cpp.

Run from this folder: python3 make_pdfs.py. PDFs are written by hand (objects,
cross-reference table, trailer) so that every byte is known; README.md says
how the encrypted copies are made from text.pdf with qpdf.
"""


def pdf(objects):
    """A PDF of `objects` (bodies of objects 1..n, object 1 the catalog)."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = len(objects)  # the last object is the Info dictionary
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def stream(content):
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def text_page(lines):
    """Content drawing `lines` (None: a blank gap that separates blocks)."""
    ops = [b"BT /F1 12 Tf 72 720 Td 14 TL"]
    for line in lines:
        if line is None:
            ops.append(b"0 -28 Td")
        else:
            ops.append(b"(" + line + b") Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops)


PAGE_ONE = [
    b"Opening hours",
    None,
    b"The shop is open from Monday to Friday, from nine in the",
    b"morning to six in the evening. On Saturdays it opens at ten.",
    None,
    b"The caf\xe9 on the first floor serves home-",
    b"made lemon cake.",
]
PAGE_TWO = [
    b"Returns",
    None,
    b"Goods can be returned within 30 days with the receipt.",
]


def text_pdf():
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 7 0 R >>",
        font,
        stream(text_page(PAGE_ONE)),
        stream(text_page(PAGE_TWO)),
        b"<< /Title (Shop Guide) /Producer (make_pdfs.py) >>",
    ])


def image_only_pdf():
    # A 2x2 grey image drawn over the page: a scan without a text layer.
    image = b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 4 >>\nstream\n\x00\x80\x80\xff\nendstream"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
        image,
        stream(b"q 468 0 0 648 72 72 cm /Im1 Do Q"),
        b"<< /Producer (make_pdfs.py) >>",
    ])


if __name__ == "__main__":
    text = text_pdf()
    with open("text.pdf", "wb") as f:
        f.write(text)
    with open("image-only.pdf", "wb") as f:
        f.write(image_only_pdf())
    # Cut off in the middle of the first page object: no catalog, no pages,
    # no cross-reference table to rebuild them from.
    with open("damaged.pdf", "wb") as f:
        f.write(text[:120])

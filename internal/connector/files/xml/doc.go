// Package xml is the XML file connector: records are the repeating elements at a path such as
// orders/order. It is a source and a destination.
//
// The reader streams with encoding/xml's tokenizer, holding one record at a time (capped by
// max_record_bytes). A record is flattened to fields: its attributes as "@name", child elements by
// their path joined with "." ("customer.name", "customer.@id"); an element seen more than once in a
// record gives a JSON array of its texts. Types are inferred from the first infer_rows records as for
// CSV. A value that does not parse as its field's declared type becomes a record.Reject naming the
// file, line and field; XML that is not well-formed (or not decodable in its declared encoding) fails
// with an error naming the file and line. The checkpoint is the number of records consumed.
//
// The writer writes <root><record>…</record></root> following record_path, fields as child elements
// (nested by "." in their names, attributes for "@" names), NULL as an absent element, through
// filekit.Sink; the closing tags are written at every Commit, so a committed file is well-formed.
package xml

"""EBU-TT-D (EBU Tech 3380), the subtitle format of European broadcast distribution (DVB,
HbbTV, the EBU's members' online players): a TTML subset, written as the IMSC track is, with
what Tech 3380 asks for instead of IMSC's designators.

`ttp:timeBase="media"` with times as `hh:mm:ss.sss`; `ttp:cellResolution` and
`ebutts:linePadding` in cells; `ebuttm:documentMetadata` naming the standard it conforms to;
styles with hexadecimal colours; one region in percentages; every `<p>` with an `xml:id`, its
text in `<span>`s, each language in a `<span xml:lang>` as in the TTML track.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from subtitler.layout.cues import clean_line
from subtitler.tracks.ttml import TTP, TTS, XML, TtmlTrack

EBUTTM = "urn:ebu:tt:metadata"
EBUTTS = "urn:ebu:tt:style"
CONFORMS_TO = "urn:ebu:tt:distribution:2018-04"
"""EBU-TT-D 1.0.1 (Tech 3380, May 2018)."""
for _prefix, _uri in (("ebuttm", EBUTTM), ("ebutts", EBUTTS)):
    ET.register_namespace(_prefix, _uri)


class EbuTtdTrack(TtmlTrack):
    suffix = ".ebuttd.xml"

    def _root_attributes(self) -> dict[str, str]:
        return {
            f"{{{XML}}}lang": self.names[self.languages[0]],
            f"{{{TTP}}}timeBase": "media",
            f"{{{TTP}}}cellResolution": "50 30",
        }

    def _metadata(self, metadata: ET.Element) -> None:
        document = ET.SubElement(metadata, f"{{{EBUTTM}}}documentMetadata")
        ET.SubElement(document, f"{{{EBUTTM}}}conformsToStandard").text = CONFORMS_TO
        ET.SubElement(document, f"{{{EBUTTM}}}documentTitle").text = clean_line(self.title)

    def _region(self) -> dict[str, str]:
        """Tech 3380's region attributes: alignment lives in the styles."""
        region = super()._region()
        del region[f"{{{TTS}}}textAlign"]
        return region

    def _style(self, position: int) -> dict[str, str]:
        return {
            **super()._style(position),
            f"{{{TTS}}}lineHeight": "125%",
            f"{{{TTS}}}textAlign": "center",
            f"{{{EBUTTS}}}linePadding": "0.5c",
            f"{{{EBUTTS}}}multiRowAlign": "center",
        }

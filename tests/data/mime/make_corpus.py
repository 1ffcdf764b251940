import os, base64
M = {}
M['01-simple.eml'] = """From: Alice Example <alice@example.test>
To: bob@example.test
Subject: Hello
Date: Tue, 01 Dec 2026 08:00:00 +0000
Message-ID: <simple-1@example.test>

Hello Bob,
this is a plain message.
"""
M['02-no-content-type.eml'] = """From: alice@example.test
To: Bob <bob@example.test>, "Carol, C." <carol@example.test>
Cc: dave@example.test (Dave D)
Subject: no content type
Date: Tue, 1 Dec 2026 09:10:11 +0100

body
"""
M['03-multipart-alt.eml'] = """From: "Alice" <alice@example.test>
To: bob@example.test
Subject: alternative
Date: Tue, 01 Dec 2026 08:00:00 +0000
Message-ID: <alt@example.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

This is the preamble.
--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello =C3=A9t=C3=A9
second line
--b1
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: 7bit

<p>Hello</p>
--b1--
epilogue
"""
att = base64.encodebytes(bytes(range(256)) * 4).decode()
M['04-attachment.eml'] = """From: alice@example.test
To: bob@example.test
Subject: report with attachment
Date: Wed, 02 Dec 2026 10:00:00 -0500
Message-ID: <att@example.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain; charset=us-ascii

See attached.
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"; size=1024
Content-Transfer-Encoding: base64
Content-Description: The quarterly report
Content-ID: <part2@example.test>
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Language: en, de
Content-Location: http://example.test/report.pdf

""" + att + """--outer--
"""
M['05-nested.eml'] = """From: alice@example.test
To: bob@example.test
Subject: nested
Date: Thu, 03 Dec 2026 11:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="A"

--A
Content-Type: multipart/alternative; boundary="B"

--B
Content-Type: text/plain

plain
--B
Content-Type: multipart/related; boundary="C"; type="text/html"

--C
Content-Type: text/html

<img src="cid:i1">
--C
Content-Type: image/png
Content-ID: <i1>
Content-Transfer-Encoding: base64
Content-Disposition: inline

iVBORw0KGgo=
--C--
--B--
--A
Content-Type: text/plain; name=notes.txt
Content-Disposition: attachment; filename=notes.txt

notes
--A--
"""
M['06-rfc822.eml'] = """From: alice@example.test
To: bob@example.test
Subject: Fwd: original
Date: Fri, 04 Dec 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd"

--fwd
Content-Type: text/plain

Forwarded message below.
--fwd
Content-Type: message/rfc822
Content-Disposition: inline

From: Carol <carol@example.test>
To: alice@example.test
Subject: original
Date: Mon, 30 Nov 2026 07:00:00 +0000
Message-ID: <orig@example.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: text/plain

inner text
--inner
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQ=
--inner--
--fwd--
"""
M['07-encoded-words.eml'] = """From: =?UTF-8?B?w4lsb2TDrWU=?= <elodie@example.test>
To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.test>
Subject: =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?= and =?ISO-8859-1?B?bmHvdmU=?=
Date: Sat, 05 Dec 2026 13:00:00 +0100
Message-ID: <ew@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9
"""
M['08-utf8-headers.eml'] = """From: Zoë Ålund <zoe@example.test>
To: 山田太郎 <yamada@example.test>
Subject: Grüße aus Köln – 日本語
Date: Sun, 06 Dec 2026 14:00:00 +0000
Message-ID: <utf8@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße, ünïcödé body.
"""
M['09-latin1-8bit-header.eml'] = "From: Andr\xe9 <andre@example.test>\nTo: bob@example.test\nSubject: Caf\xe9 8bit\nDate: Mon, 07 Dec 2026 15:00:00 +0000\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nCaf\xe9\n"
M['10-rfc2231.eml'] = """From: alice@example.test
To: bob@example.test
Subject: rfc2231 names
Date: Tue, 08 Dec 2026 16:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="x"

--x
Content-Type: application/octet-stream;
 name*0*=UTF-8''%E6%97%A5%E6%9C%AC;
 name*1*=%E8%AA%9E.txt
Content-Disposition: attachment;
 filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt
Content-Transfer-Encoding: base64

aGVsbG8=
--x
Content-Type: text/plain; charset=us-ascii;
 title*0="long ";
 title*1="title"

text
--x--
"""
M['11-groups.eml'] = """From: alice@example.test
To: undisclosed-recipients:;
Cc: Team: bob@example.test, Carol <carol@example.test>;, dave@example.test
Subject: groups
Date: Wed, 09 Dec 2026 17:00:00 +0000

x
"""
M['12-missing-boundary.eml'] = """From: alice@example.test
To: bob@example.test
Subject: multipart without closing boundary
Date: Thu, 10 Dec 2026 18:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain

first
--never-closed
Content-Type: text/plain

second and last, no close delimiter
"""
M['13-no-boundary-param.eml'] = """From: alice@example.test
To: bob@example.test
Subject: multipart without boundary parameter
Date: Fri, 11 Dec 2026 19:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed

--foo
Content-Type: text/plain

hi
--foo--
"""
M['14-bad-content-type.eml'] = """From: alice@example.test
To: bob@example.test
Subject: garbage content type
Date: Sat, 12 Dec 2026 20:00:00 +0000
MIME-Version: 1.0
Content-Type: garbage
Content-Transfer-Encoding: BASE64

aGk=
"""
M['15-headers-only.eml'] = """From: alice@example.test
To: bob@example.test
Subject: no body at all
Date: Sun, 13 Dec 2026 21:00:00 +0000
"""
M['16-folded.eml'] = """From: Alice
 Example <alice@example.test>
To: bob@example.test,
	carol@example.test
Subject: a long subject that is
 folded over
	two lines
Date: Mon, 14 Dec 2026
 22:00:00 +0000
Message-ID:
 <folded@example.test>
In-Reply-To: <parent@example.test>
References: <root@example.test>
 <parent@example.test>

body
"""
M['17-reply-to-sender.eml'] = """From: alice@example.test
Sender: secretary@example.test
Reply-To: Replies <replies@example.test>
To: bob@example.test
Bcc: hidden@example.test
Subject: sender and reply-to
Date: Tue, 15 Dec 2026 23:00:00 +0000

x
"""
M['18-digest.eml'] = """From: list@example.test
To: bob@example.test
Subject: digest
Date: Wed, 16 Dec 2026 00:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="d"

--d

From: one@example.test
Subject: one

first digest message
--d

From: two@example.test
Subject: two

second digest message
--d--
"""
M['19-quoted-names.eml'] = """From: "Doe, John \\"JD\\"" <john.doe@example.test>
To: "john doe"@example.test, <@route.example:user@example.test>
Cc: Broken <nodomain>, justaword
Subject: quoting
Date: Thu, 17 Dec 2026 01:00:00 +0000

x
"""
M['20-empty-parts.eml'] = """From: alice@example.test
Subject: empty parts
Date: Fri, 18 Dec 2026 02:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="e"

--e
--e
Content-Type: text/plain

--e

--e--
"""
M['21-uppercase-types.eml'] = """From: alice@example.test
Subject: case
Date: Sat, 19 Dec 2026 03:00:00 +0000
MIME-Version: 1.0
Content-Type: TEXT/HTML; CHARSET=UTF-8; Format=Flowed
Content-Transfer-Encoding: Quoted-Printable
Content-Disposition: INLINE; FILENAME=x.html

<b>x</b>
"""
M['22-message-no-crlf-end.eml'] = "From: alice@example.test\nSubject: no final newline\nDate: Sun, 20 Dec 2026 04:00:00 +0000\n\nlast line without newline"
M['23-rfc822-attachment-base64.eml'] = """From: alice@example.test
Subject: encoded message/rfc822
Date: Mon, 21 Dec 2026 05:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=z

--z
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

RnJvbTogYUBiLnRlc3QKU3ViamVjdDogaGkKCmJvZHkK
--z--
"""
M['24-nested-rfc822-twice.eml'] = """From: alice@example.test
Subject: Fwd: Fwd: deep
Date: Tue, 22 Dec 2026 06:00:00 +0000
MIME-Version: 1.0
Content-Type: message/rfc822

From: bob@example.test
Subject: Fwd: deep
Date: Tue, 22 Dec 2026 05:00:00 +0000
MIME-Version: 1.0
Content-Type: message/rfc822

From: carol@example.test
Subject: deep
Date: Tue, 22 Dec 2026 04:00:00 +0000

deepest body
"""
M['25-params-edge.eml'] = """From: alice@example.test
Subject: parameter edge cases
Date: Wed, 23 Dec 2026 07:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii" (comment); format=flowed;
 delsp=yes; name="a \\"quoted\\" name.txt"

x
"""
M['26-boundary-prefix.eml'] = """From: alice@example.test
Subject: inner boundary extends outer
Date: Thu, 24 Dec 2026 08:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="abc"

--abc
Content-Type: multipart/alternative; boundary="abcdef"

--abcdef
Content-Type: text/plain

one
--abcdef--
--abc
Content-Type: text/plain

two
--abc--
"""
M['27-dup-headers.eml'] = """From: first@example.test
From: second@example.test
Subject: first subject
Subject: second subject
Date: Fri, 25 Dec 2026 09:00:00 +0000
Content-Type: text/plain; charset=utf-8
Content-Type: text/html

x
"""
for name, text in M.items():
    data = text.encode('latin-1') if name.startswith('09') else text.encode('utf-8')
    data = data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    open(name, 'wb').write(data)

# ---- second batch: shapes real clients send
M2 = {}
M2['28-signed.eml'] = """From: Alice <alice@example.test>
To: bob@example.test
Subject: signed
Date: Sat, 26 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature"; boundary="sig"

This is an OpenPGP/MIME signed message (RFC 4880 and 3156)
--sig
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

signed text
--sig
Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"
Content-Description: OpenPGP digital signature
Content-Disposition: attachment; filename="OpenPGP_signature.asc"

-----BEGIN PGP SIGNATURE-----
wsF5BAABCAAjFiEE
-----END PGP SIGNATURE-----

--sig--
"""
M2['29-dsn.eml'] = """From: MAILER-DAEMON@example.test
To: alice@example.test
Subject: Undelivered Mail Returned to Sender
Date: Sun, 27 Dec 2026 11:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="dsn.1"
Auto-Submitted: auto-replied

--dsn.1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--dsn.1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.test
Final-Recipient: rfc822; nobody@example.test
Action: failed
Status: 5.1.1

--dsn.1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: alice@example.test
Subject: lost

--dsn.1--
"""
M2['30-calendar.eml'] = """From: organizer@example.test
To: bob@example.test
Subject: Invitation: meeting
Date: Mon, 28 Dec 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="cal"

--cal
Content-Type: text/plain; charset="UTF-8"

Meeting at noon.
--cal
Content-Type: text/calendar; charset="UTF-8"; method=REQUEST
Content-Transfer-Encoding: 7bit

BEGIN:VCALENDAR
METHOD:REQUEST
END:VCALENDAR
--cal--
"""
M2['31-apple-inline.eml'] = """From: Carol <carol@example.test>
Content-Type: multipart/alternative;
	boundary="Apple-Mail=_1"
Mime-Version: 1.0 (Mac OS X Mail 16.0)
Subject: photo
Date: Tue, 29 Dec 2026 13:00:00 +0100
To: bob@example.test
Message-Id: <apple@example.test>

--Apple-Mail=_1
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
	charset=us-ascii

see photo
--Apple-Mail=_1
Content-Type: multipart/related;
	type="text/html";
	boundary="Apple-Mail=_2"

--Apple-Mail=_2
Content-Transfer-Encoding: 7bit
Content-Type: text/html;
	charset=us-ascii

<html><body>see <img src="cid:p1"></body></html>
--Apple-Mail=_2
Content-Transfer-Encoding: base64
Content-Disposition: inline;
	filename=photo.jpg
Content-Type: image/jpeg;
	x-unix-mode=0644;
	name="photo.jpg"
Content-Id: <p1>

/9j/4AAQSkZJRgABAQ==
--Apple-Mail=_2--

--Apple-Mail=_1--
"""
M2['32-outlook-encoded-filename.eml'] = """From: =?iso-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.test>
To: "Bob" <bob@example.test>
Subject: =?iso-8859-1?Q?Angebot_f=FCr_M=E4rz?=
Date: Wed, 30 Dec 2026 14:00:00 +0100
Message-ID: <outlook@example.test>
Content-Language: de-DE
MIME-Version: 1.0
Content-Type: multipart/mixed;
	boundary="----=_NextPart_000_0001_01D00000.00000000"

This is a multi-part message in MIME format.

------=_NextPart_000_0001_01D00000.00000000
Content-Type: text/plain;
	charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe

------=_NextPart_000_0001_01D00000.00000000
Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;
	name="=?iso-8859-1?Q?Preis=FCbersicht.xlsx?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
	filename="=?iso-8859-1?Q?Preis=FCbersicht.xlsx?="

UEsDBBQABgAIAAAAIQA=

------=_NextPart_000_0001_01D00000.00000000--
"""
M2['33-list-headers.eml'] = """From: "List Member via list" <list@example.test>
Reply-To: list@example.test, member@example.test
To: list@example.test
Cc: "A" <a@example.test>, "B" <b@example.test>, c@example.test
Subject: [list] Re: [list] weekly
Date: Thu, 31 Dec 2026 15:00:00 -0800
Message-ID: <reply-2@example.test>
In-Reply-To: <reply-1@example.test>
References: <root@example.test> <reply-1@example.test>
List-Id: <list.example.test>

reply text
"""
M2['34-empty-subject-and-addresses.eml'] = """From:
To:
Subject:
Date: Fri, 01 Jan 2027 00:00:00 +0000
Message-ID:

x
"""
M2['35-lf-header-crlf-body-mixed-params.eml'] = """From: alice@example.test
Subject: params with odd spacing
Date: Sat, 02 Jan 2027 01:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain ; charset = "utf-8" ; format = flowed
Content-Disposition: attachment ; filename = "a b.txt"

body
"""
M2['36-message-in-message-in-multipart.eml'] = """From: a@example.test
Subject: nested forwards
Date: Sun, 03 Jan 2027 02:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="L1"

--L1
Content-Type: message/rfc822

From: b@example.test
Subject: level 2
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="L2"

--L2
Content-Type: message/rfc822

From: c@example.test
Subject: level 3

level 3 body
--L2--
--L1--
"""
M2['37-8bit-no-cte.eml'] = "From: a@example.test\nSubject: 8bit body without CTE\nDate: Mon, 04 Jan 2027 03:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nna\u00efve \u2013 caf\u00e9\n"
M2['38-long-header-line.eml'] = "From: a@example.test\nSubject: " + ("very long subject " * 60) + "\nDate: Tue, 05 Jan 2027 04:00:00 +0000\n\nx\n"
M2['39-html-only-quoted-boundary-with-spaces.eml'] = """From: a@example.test
Subject: boundary with spaces
Date: Wed, 06 Jan 2027 05:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="has spaces in it"

--has spaces in it
Content-Type: text/html; charset=us-ascii

<p>x</p>
--has spaces in it--
"""
M2['40-comments-everywhere.eml'] = """From: (comment) Alice (more) <alice(x)@example.test> (trailing)
To: bob@example.test (Bob the Builder)
Subject: comments
Date: Thu, 07 Jan 2027 06:00:00 +0000 (UTC)
MIME-Version: 1.0 (generated)
Content-Type: text/plain (plain text); charset=us-ascii (ascii)
Content-Transfer-Encoding: 7bit (seven)

x
"""
for name, text in M2.items():
    data = text.encode('utf-8').replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    open(name, 'wb').write(data)

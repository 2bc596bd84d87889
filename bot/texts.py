"""Every text a citizen reads, in Spanish (default) and English: one catalogue, `text(key, lang, **values)`.

Chat texts are Telegram HTML (only <b>, <i>, <code>); values are escaped when they are filled in.
The push notices (`push.*`) live in push_texts.json, plain text, so that the API's notifier can read the
same file without importing this package; they are merged in here so the bot has one catalogue.
This module imports nothing from telegram.
"""

from __future__ import annotations

import html
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
PUSH_TEXTS_FILE = Path(__file__).with_name("push_texts.json")
# Peru has kept UTC-5 with no daylight saving since 1994; a fixed offset needs no tz database in Lambda.
LIMA = timezone(timedelta(hours=-5), "PET")

# Countries offered as buttons to foreigners (ISO 3166 alpha-3 as the API wants it, alpha-2 for the name).
COUNTRY_BUTTONS = (("VEN", "VE"), ("COL", "CO"), ("ECU", "EC"), ("BOL", "BO"), ("CHL", "CL"), ("ARG", "AR"),
                   ("BRA", "BR"), ("CHN", "CN"), ("USA", "US"), ("ESP", "ES"))

_ES: dict[str, str] = {
    "welcome": "Hola 👋 Soy el asistente del INPE para el <b>Certificado de Antecedentes Judiciales</b>.\n"
               "Elija su idioma:",
    "button.lang.es": "Español",
    "button.lang.en": "English",
    "guide": (
        "<b>Certificado de Antecedentes Judiciales</b>\n\n"
        "Es el documento del INPE que indica si una persona registra o no antecedentes judiciales. "
        "Lo tramita aquí mismo, sin ir a una oficina ni imprimir nada.\n\n"
        "• <b>Costo:</b> {fee}. Puede pagar en línea o en un Agente Multired del Banco de la Nación.\n"
        "• <b>Tiempo:</b> por lo general, minutos después del pago. Si encontramos un posible homónimo, "
        "un especialista lo revisa y puede tardar unos días hábiles.\n"
        "• <b>Necesita:</b> su documento de identidad (DNI, Carné de Extranjería, PTP/CPP o pasaporte). "
        "Con DNI, el carácter de verificación que figura junto al número; si es extranjero, la fecha de "
        "emisión de su documento.\n"
        "• <b>Recibirá:</b> el certificado en PDF, firmado digitalmente, en este chat."
    ),
    "terms": (
        "Antes de empezar, lea y acepte los términos del servicio y el tratamiento de sus datos personales "
        "(Ley N.° 29733): usaremos sus datos solo para tramitar su certificado, confirmar su identidad con "
        "RENIEC o Migraciones y consultar el registro penitenciario. ¿Acepta?"
    ),
    "button.accept": "Acepto",
    "button.decline": "No acepto",
    "terms.declined": "Entendido. Sin su aceptación no podemos tramitar el certificado. Cuando lo desee, "
                      "escriba /start para empezar de nuevo.",
    "ask.nationality": "¿Cuál es su nacionalidad?",
    "button.peruvian": "Peruana (DNI)",
    "button.foreigner": "Extranjera",
    "ask.document_type": "¿Con qué documento hará el trámite?",
    "ask.country": "¿De qué país es usted?",
    "button.other_country": "Otro país",
    "ask.country_code": "Escriba el código de tres letras de su país (norma ISO 3166), por ejemplo "
                        "<code>VEN</code> para Venezuela o <code>HTI</code> para Haití.",
    "ask.document_number": "Escriba el número de su <b>{document}</b>, tal como aparece en el documento.",
    "ask.given_names": "Escriba sus <b>nombres</b>, tal como figuran en su documento.",
    "ask.first_surname": "Escriba su <b>primer apellido</b>.",
    "ask.second_surname": "Escriba su <b>segundo apellido</b>. Si no tiene, pulse el botón.",
    "button.no_second_surname": "No tengo segundo apellido",
    "ask.birth_date": "Escriba su <b>fecha de nacimiento</b> como día/mes/año, por ejemplo 12/04/1990.",
    "ask.email": "Si desea recibir avisos también por correo electrónico, escriba su correo. Es opcional.",
    "button.skip": "Omitir",
    "fix.intro": "Hay que corregir algunos datos:",
    "request.created": "Registramos su solicitud N.° <b>{number}</b>. Ahora confirmaremos su identidad.",
    "ask.verification_character": (
        "Para confirmar que tiene su DNI a la mano, escriba su <b>carácter de verificación</b>: es el número "
        "o la letra que aparece después del guion, junto al número de DNI (en 12345678 - <b>9</b>, es 9)."
    ),
    "ask.issue_date": "Para confirmar su identidad, escriba la <b>fecha de emisión</b> de su {document} como "
                      "día/mes/año.",
    "identity.failed": (
        "Los datos no coinciden con el registro de identidad. Revise y vuelva a escribirlo. "
        "Le quedan {attempts} intentos.\n"
        "Si se equivocó en su nombre o en su fecha de nacimiento, escriba /cancelar y luego /start para "
        "hacer una nueva solicitud."
    ),
    "identity.rejected": "No pudimos confirmar su identidad y, por seguridad, la solicitud {number} quedó "
                         "cerrada. Si cree que es un error, haga una nueva solicitud con /start revisando "
                         "sus datos.",
    "payment.order": (
        "Orden de pago de la solicitud N.° {number}:\n"
        "• Código: <b>{order_code}</b>\n"
        "• Monto: <b>{amount}</b>\n"
        "• Pague antes de: {expires} (hora de Lima)\n\n"
        "Pague en línea con el botón, o en un Agente Multired del Banco de la Nación dando el código de la "
        "orden. Le avisaremos aquí cuando se confirme el pago."
    ),
    "payment.link": "Enlace de pago: {url}",
    "button.pay_online": "Pagar en línea",
    "button.paid_at_agent": "Pagué en un agente",
    "button.check_status": "Ver el estado",
    "ask.operation_number": "Escriba el <b>número de operación</b> que figura en su voucher.",
    "ask.voucher_date": "Escriba la <b>fecha de pago</b> que figura en el voucher, como día/mes/año.",
    "payment.received": (
        "¡Pago recibido! Su solicitud N.° <b>{number}</b> pasa a la verificación en el registro "
        "penitenciario. Le avisaremos aquí cuando su certificado esté listo; puede consultar el estado "
        "cuando quiera con /estado."
    ),
    "status.summary": "Solicitud N.° <b>{number}</b>\nEstado: <b>{status}</b>",
    "status.pending_identity": "pendiente de confirmar su identidad",
    "status.awaiting_payment": "pendiente de pago",
    "status.paid": "pagada, en verificación",
    "status.in_review": "en revisión por un especialista (posible homónimo)",
    "status.approved": "aprobada, emitiendo el certificado",
    "status.issued": "emitida: su certificado está listo",
    "status.identity_rejected": "cerrada: no se pudo confirmar la identidad",
    "status.expired": "vencida: la orden de pago no se pagó a tiempo",
    "status.cancelled": "anulada",
    "status.unknown": "en trámite",
    "status.next.pending_identity": "Para continuar, escriba /start y elija continuar con esta solicitud.",
    "status.next.issued": "Pulse el botón para recibir su certificado en PDF.",
    "status.none": "Aún no tiene solicitudes. Escriba /start para pedir su certificado.",
    "button.get_pdf": "Recibir el certificado (PDF)",
    "document.caption": "Certificado de Antecedentes Judiciales, solicitud N.° {number}.",
    "document.not_ready": "El certificado todavía no está disponible. Inténtelo de nuevo en unos minutos.",
    "help": (
        "Esto es lo que puedo hacer:\n"
        "/start: pedir un Certificado de Antecedentes Judiciales\n"
        "/estado: ver el estado de su última solicitud y recibir su certificado\n"
        "/cancelar: dejar la conversación en curso\n"
        "/ayuda: esta ayuda\n\n"
        "Para verificar un certificado, envíeme el PDF o una foto de su código QR."
    ),
    "cancelled": "Listo, dejamos la conversación aquí. Escriba /start cuando quiera empezar de nuevo.",
    "cancelled.with_request": "Listo, dejamos la conversación aquí. Su solicitud N.° {number} se conserva: "
                              "vea su estado con /estado. Escriba /start cuando quiera empezar de nuevo.",
    "expired": (
        "Su conversación se cerró tras {hours} horas sin respuesta y, por su seguridad, borramos los datos "
        "que había escrito. Escriba /start para retomar el trámite. Si ya tenía una solicitud, se conserva "
        "y puede ver su estado con /estado."
    ),
    "resume.found": "Tiene una solicitud en curso, N.° <b>{number}</b> ({status}). ¿Desea continuarla?",
    "button.resume": "Continuar esa solicitud",
    "button.new_request": "Empezar una nueva",
    "stale_button": "Ese botón ya no está activo. Continúe con el último mensaje.",
    "use_buttons": "Por favor, elija una de las opciones con los botones del último mensaje.",
    "idle": (
        "Escriba /start para pedir su Certificado de Antecedentes Judiciales, /estado para ver su solicitud "
        "o /ayuda para más opciones. También puede enviarme un certificado en PDF o una foto de su QR para "
        "verificarlo."
    ),
    "unknown_command": "No conozco esa orden. Escriba /ayuda para ver lo que puedo hacer.",
    "unsupported": "No puedo procesar ese tipo de mensaje. Escriba /ayuda para ver lo que puedo hacer.",
    "private_only": "Por privacidad, solo atiendo en chats privados.",
    "retry": "Lo sentimos, algo falló de nuestro lado y no pudimos procesar su mensaje. Por favor, inténtelo "
             "de nuevo en un momento.",
    "api.unavailable": "El servicio no está disponible en este momento. Inténtelo de nuevo en unos minutos; "
                       "lo que ya escribió se conserva.",
    # Errors from the API, by field and code; err.generic_field is the fallback that names the field.
    "err.document_number": "El número de documento no es válido: escríbalo tal como figura en su {document}, "
                           "sin espacios ni guiones.",
    "err.document_number.DNI": "El número de DNI no es válido: son los 8 dígitos del documento, sin letras ni "
                               "el carácter de verificación.",
    "err.name": "{field}: solo puede tener letras, espacios, apóstrofos y guiones, sin números.",
    "err.missing_field": "Falta este dato: {field}.",
    "err.second_surname.missing_field": "Con DNI se requiere el segundo apellido, tal como figura en su DNI.",
    "err.birth_date": "No entendí la fecha de nacimiento. Escríbala como día/mes/año, por ejemplo 12/04/1990.",
    "err.birth_date.date_in_future": "La fecha de nacimiento no puede ser una fecha futura.",
    "err.birth_date.not_adult": "El certificado solo lo puede pedir una persona mayor de 18 años.",
    "err.email": "El correo no parece válido. Escríbalo como nombre@ejemplo.com, o pulse «Omitir».",
    "err.document_type.document_nationality": "El tipo de documento no corresponde a la nacionalidad elegida. "
                                              "Elija de nuevo.",
    "err.nationality": "No reconocemos ese código de país. Escriba el código de tres letras, por ejemplo VEN.",
    "err.verification_character": "Escriba un solo carácter: el número o la letra que aparece después del "
                                  "número de DNI.",
    "err.issue_date": "No entendí la fecha de emisión. Escríbala como día/mes/año.",
    "err.operation_number": "El número de operación no es válido. Escríbalo tal como figura en el voucher, "
                            "solo con números.",
    "err.voucher_not_found": "El banco no tiene un pago con ese número de operación y esa fecha. Revise ambos "
                             "datos e inténtelo otra vez.",
    "err.voucher_other_order": "Ese voucher corresponde a otra orden de pago. Revise el número de operación.",
    "err.date": "No entendí la fecha de pago. Escríbala como día/mes/año, por ejemplo 20/11/2026.",
    "err.invalid_state": "La solicitud ya no admite este paso: está {status}.",
    "err.generic_field": "El dato «{field}» no fue aceptado. Revíselo e inténtelo de nuevo.",
    "err.generic": "No pudimos procesar su pedido. Revise lo que escribió e inténtelo de nuevo.",
    "field.nationality": "nacionalidad",
    "field.document_type": "tipo de documento",
    "field.document_number": "número de documento",
    "field.given_names": "Nombres",
    "field.first_surname": "Primer apellido",
    "field.second_surname": "Segundo apellido",
    "field.birth_date": "fecha de nacimiento",
    "field.email": "correo electrónico",
    "field.verification_character": "carácter de verificación",
    "field.issue_date": "fecha de emisión",
    "field.operation_number": "número de operación",
    "field.date": "fecha de pago",
    "doc.DNI": "DNI",
    "doc.CE": "Carné de Extranjería",
    "doc.PTP": "PTP / CPP",
    "doc.PASSPORT": "Pasaporte",
    # Verification of documents sent to the chat.
    "verify.checking": "Estoy verificando el documento…",
    "verify.pdf.valid": "✅ Documento <b>auténtico y vigente</b>: lo emitió el INPE y no fue modificado.",
    "verify.pdf.expired": "⚠️ Documento auténtico, pero <b>vencido</b>.",
    "verify.pdf.revoked": "⛔ Documento auténtico, pero <b>anulado</b> por el INPE.",
    "verify.pdf.unknown": "❓ La firma es del INPE, pero no encontramos este documento en nuestros registros.",
    "verify.pdf.altered": "⛔ El documento <b>fue modificado</b> después de firmarse: no es válido.",
    "verify.pdf.not_ours": "❓ Este PDF no es un documento emitido por el INPE con este sistema.",
    "verify.qr.valid": "✅ El código QR es <b>auténtico</b> y el documento está <b>vigente</b>.",
    "verify.qr.expired": "⚠️ El código QR es auténtico, pero el documento está <b>vencido</b>.",
    "verify.qr.revoked": "⛔ El código QR es auténtico, pero el documento fue <b>anulado</b>.",
    "verify.qr.unknown": "❓ No encontramos en nuestros registros el documento de este código QR.",
    "verify.qr.invalid": "⛔ El código QR <b>no es auténtico</b>: su firma no es válida.",
    "verify.qr.not_found": "No encontré un código QR en la foto. Tome otra foto, de frente y con buena luz, "
                           "donde el QR se vea completo.",
    "verify.details": "{title} N.° {number}\nTitular: {holder} ({document})\nVálido hasta: {valid_until}",
    "verify.revoked_on": "Anulado el {date}.",
    "verify.unavailable": "La verificación no está disponible en este momento. Inténtelo más tarde.",
    "verify.too_large": "El archivo es demasiado grande para verificarlo aquí.",
    "verify.not_pdf": "Para verificar un documento, envíelo en PDF o envíe una foto de su código QR.",
    "command.start": "Pedir un certificado",
    "command.status": "Ver el estado de mi solicitud",
    "command.help": "Ayuda",
    "command.cancel": "Dejar la conversación en curso",
}

_EN: dict[str, str] = {
    "welcome": "Hello 👋 I am INPE's assistant for the <b>criminal-record certificate</b> "
               "(Certificado de Antecedentes Judiciales).\nChoose your language:",
    "button.lang.es": "Español",
    "button.lang.en": "English",
    "guide": (
        "<b>Criminal-record certificate</b>\n\n"
        "It is INPE's document stating whether a person has a criminal record or not. "
        "You get it right here, with no office visit and nothing to print.\n\n"
        "• <b>Price:</b> {fee}. Pay online or at a Banco de la Nación Agente Multired.\n"
        "• <b>Time:</b> usually minutes after the payment. If we find a possible namesake, a specialist "
        "reviews it, which can take a few working days.\n"
        "• <b>You need:</b> your identity document (DNI, Carné de Extranjería, PTP/CPP or passport). With a "
        "DNI, the verification character printed next to its number; foreigners, their document's issue "
        "date.\n"
        "• <b>You get:</b> the certificate as a digitally signed PDF, in this chat."
    ),
    "terms": (
        "Before we start, please read and accept the terms of service and the processing of your personal "
        "data (Law No. 29733): we use your data only to process your certificate, confirm your identity with "
        "RENIEC or Migraciones and search the penitentiary registry. Do you accept?"
    ),
    "button.accept": "I accept",
    "button.decline": "I do not accept",
    "terms.declined": "Understood. Without your acceptance we cannot process the certificate. Whenever you "
                      "wish, send /start to begin again.",
    "ask.nationality": "What is your nationality?",
    "button.peruvian": "Peruvian (DNI)",
    "button.foreigner": "Foreign",
    "ask.document_type": "Which document will you apply with?",
    "ask.country": "Which country are you from?",
    "button.other_country": "Another country",
    "ask.country_code": "Type your country's three-letter code (ISO 3166), for example <code>VEN</code> for "
                        "Venezuela or <code>HTI</code> for Haiti.",
    "ask.document_number": "Type the number of your <b>{document}</b>, exactly as printed on it.",
    "ask.given_names": "Type your <b>given names</b>, exactly as on your document.",
    "ask.first_surname": "Type your <b>first surname</b>.",
    "ask.second_surname": "Type your <b>second surname</b>. If you have none, press the button.",
    "button.no_second_surname": "I have no second surname",
    "ask.birth_date": "Type your <b>date of birth</b> as day/month/year, for example 12/04/1990.",
    "ask.email": "If you also want notices by e-mail, type your e-mail address. It is optional.",
    "button.skip": "Skip",
    "fix.intro": "Some details need correcting:",
    "request.created": "We registered your request No. <b>{number}</b>. Now we will confirm your identity.",
    "ask.verification_character": (
        "To confirm you have your DNI at hand, type its <b>verification character</b>: the digit or letter "
        "after the hyphen, next to the DNI number (in 12345678 - <b>9</b>, it is 9)."
    ),
    "ask.issue_date": "To confirm your identity, type the <b>issue date</b> of your {document} as "
                      "day/month/year.",
    "identity.failed": (
        "The details do not match the identity registry. Check and type it again. "
        "You have {attempts} attempts left.\n"
        "If you made a mistake in your name or date of birth, send /cancel and then /start to make a new "
        "request."
    ),
    "identity.rejected": "We could not confirm your identity and, for your safety, request {number} was "
                         "closed. If you think this is a mistake, make a new request with /start checking "
                         "your details.",
    "payment.order": (
        "Payment order for request No. {number}:\n"
        "• Code: <b>{order_code}</b>\n"
        "• Amount: <b>{amount}</b>\n"
        "• Pay before: {expires} (Lima time)\n\n"
        "Pay online with the button, or at a Banco de la Nación Agente Multired giving the order code. "
        "We will tell you here when the payment is confirmed."
    ),
    "payment.link": "Payment link: {url}",
    "button.pay_online": "Pay online",
    "button.paid_at_agent": "I paid at an agent",
    "button.check_status": "Check the status",
    "ask.operation_number": "Type the <b>operation number</b> printed on your voucher.",
    "ask.voucher_date": "Type the <b>payment date</b> printed on the voucher, as day/month/year.",
    "payment.received": (
        "Payment received! Your request No. <b>{number}</b> now goes to the penitentiary registry check. We "
        "will tell you here when your certificate is ready; you can check the status any time with /status."
    ),
    "status.summary": "Request No. <b>{number}</b>\nStatus: <b>{status}</b>",
    "status.pending_identity": "waiting for your identity confirmation",
    "status.awaiting_payment": "waiting for payment",
    "status.paid": "paid, being checked",
    "status.in_review": "under review by a specialist (possible namesake)",
    "status.approved": "approved, issuing the certificate",
    "status.issued": "issued: your certificate is ready",
    "status.identity_rejected": "closed: the identity could not be confirmed",
    "status.expired": "expired: the payment order was not paid in time",
    "status.cancelled": "cancelled",
    "status.unknown": "in progress",
    "status.next.pending_identity": "To continue, send /start and choose to continue this request.",
    "status.next.issued": "Press the button to receive your certificate as a PDF.",
    "status.none": "You have no requests yet. Send /start to ask for your certificate.",
    "button.get_pdf": "Receive the certificate (PDF)",
    "document.caption": "Criminal-record certificate, request No. {number}.",
    "document.not_ready": "The certificate is not available yet. Please try again in a few minutes.",
    "help": (
        "This is what I can do:\n"
        "/start: ask for a criminal-record certificate\n"
        "/status: see the status of your latest request and receive your certificate\n"
        "/cancel: leave the current conversation\n"
        "/help: this help\n\n"
        "To verify a certificate, send me its PDF or a photo of its QR code."
    ),
    "cancelled": "Done, we stop the conversation here. Send /start whenever you want to begin again.",
    "cancelled.with_request": "Done, we stop the conversation here. Your request No. {number} is kept: see "
                              "its status with /status. Send /start whenever you want to begin again.",
    "expired": (
        "Your conversation was closed after {hours} hours without an answer and, for your safety, we deleted "
        "the details you had typed. Send /start to pick up the process. If you already had a request, it is "
        "kept and you can see its status with /status."
    ),
    "resume.found": "You have a request in progress, No. <b>{number}</b> ({status}). Do you want to continue "
                    "it?",
    "button.resume": "Continue that request",
    "button.new_request": "Start a new one",
    "stale_button": "That button is no longer active. Please continue from the latest message.",
    "use_buttons": "Please choose one of the options with the buttons of the latest message.",
    "idle": (
        "Send /start to ask for your criminal-record certificate, /status to see your request or /help for "
        "more. You can also send me a certificate PDF or a photo of its QR code to verify it."
    ),
    "unknown_command": "I do not know that command. Send /help to see what I can do.",
    "unsupported": "I cannot process that kind of message. Send /help to see what I can do.",
    "private_only": "For your privacy, I only answer in private chats.",
    "retry": "Sorry, something went wrong on our side and we could not process your message. Please try "
             "again in a moment.",
    "api.unavailable": "The service is not available right now. Please try again in a few minutes; what you "
                       "already typed is kept.",
    "err.document_number": "The document number is not valid: type it exactly as printed on your {document}, "
                           "without spaces or hyphens.",
    "err.document_number.DNI": "The DNI number is not valid: it is the document's 8 digits, without letters or "
                               "the verification character.",
    "err.name": "{field}: only letters, spaces, apostrophes and hyphens, no digits.",
    "err.missing_field": "This detail is missing: {field}.",
    "err.second_surname.missing_field": "With a DNI the second surname is required, exactly as on your DNI.",
    "err.birth_date": "I did not understand the date of birth. Type it as day/month/year, for example "
                      "12/04/1990.",
    "err.birth_date.date_in_future": "The date of birth cannot be in the future.",
    "err.birth_date.not_adult": "Only a person aged 18 or over can ask for the certificate.",
    "err.email": "That e-mail address does not look valid. Type it like name@example.com, or press “Skip”.",
    "err.document_type.document_nationality": "The document type does not match the nationality you chose. "
                                              "Please choose again.",
    "err.nationality": "We do not recognise that country code. Type the three-letter code, for example VEN.",
    "err.verification_character": "Type a single character: the digit or letter after the DNI number.",
    "err.issue_date": "I did not understand the issue date. Type it as day/month/year.",
    "err.operation_number": "The operation number is not valid. Type it exactly as on the voucher, digits only.",
    "err.voucher_not_found": "The bank has no payment with that operation number and date. Check both and try "
                             "again.",
    "err.voucher_other_order": "That voucher paid another payment order. Check the operation number.",
    "err.date": "I did not understand the payment date. Type it as day/month/year, for example 20/11/2026.",
    "err.invalid_state": "The request no longer accepts this step: it is {status}.",
    "err.generic_field": "The value for “{field}” was not accepted. Please check it and try again.",
    "err.generic": "We could not process that. Please check what you typed and try again.",
    "field.nationality": "nationality",
    "field.document_type": "document type",
    "field.document_number": "document number",
    "field.given_names": "Given names",
    "field.first_surname": "First surname",
    "field.second_surname": "Second surname",
    "field.birth_date": "date of birth",
    "field.email": "e-mail address",
    "field.verification_character": "verification character",
    "field.issue_date": "issue date",
    "field.operation_number": "operation number",
    "field.date": "payment date",
    "doc.DNI": "DNI",
    "doc.CE": "Carné de Extranjería",
    "doc.PTP": "PTP / CPP",
    "doc.PASSPORT": "Passport",
    "verify.checking": "Checking the document…",
    "verify.pdf.valid": "✅ The document is <b>authentic and current</b>: INPE issued it and it was not changed.",
    "verify.pdf.expired": "⚠️ The document is authentic, but <b>expired</b>.",
    "verify.pdf.revoked": "⛔ The document is authentic, but INPE <b>revoked</b> it.",
    "verify.pdf.unknown": "❓ INPE signed it, but we cannot find this document in our records.",
    "verify.pdf.altered": "⛔ The document <b>was changed</b> after it was signed: it is not valid.",
    "verify.pdf.not_ours": "❓ This PDF is not a document issued by INPE with this system.",
    "verify.qr.valid": "✅ The QR code is <b>authentic</b> and the document is <b>current</b>.",
    "verify.qr.expired": "⚠️ The QR code is authentic, but the document is <b>expired</b>.",
    "verify.qr.revoked": "⛔ The QR code is authentic, but the document was <b>revoked</b>.",
    "verify.qr.unknown": "❓ We cannot find the document of this QR code in our records.",
    "verify.qr.invalid": "⛔ The QR code is <b>not authentic</b>: its signature is not valid.",
    "verify.qr.not_found": "I found no QR code in the photo. Take another one, straight on and in good light, "
                           "with the whole QR code visible.",
    "verify.details": "{title} No. {number}\nHolder: {holder} ({document})\nValid until: {valid_until}",
    "verify.revoked_on": "Revoked on {date}.",
    "verify.unavailable": "Verification is not available right now. Please try again later.",
    "verify.too_large": "The file is too large to verify here.",
    "verify.not_pdf": "To verify a document, send it as a PDF or send a photo of its QR code.",
    "command.start": "Ask for a certificate",
    "command.status": "See my request's status",
    "command.help": "Help",
    "command.cancel": "Leave the current conversation",
}


def _load_push_texts() -> dict[str, dict[str, str]]:
    return dict(json.loads(PUSH_TEXTS_FILE.read_text(encoding="utf-8")))


CATALOGUE: dict[str, dict[str, str]] = {"es": dict(_ES), "en": dict(_EN)}
for _key, _versions in _load_push_texts().items():
    for _lang in LANGUAGES:
        CATALOGUE[_lang][_key] = html.escape(_versions[_lang], quote=False)


def language_for(code: str | None) -> str:
    """The catalogue language for a Telegram language_code: English for en*, otherwise Spanish."""
    return "en" if (code or "").lower().startswith("en") else DEFAULT_LANGUAGE


def has(key: str, lang: str = DEFAULT_LANGUAGE) -> bool:
    return key in CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE])


def text(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The text for `key` in `lang` (Spanish when unknown), with HTML-escaped values filled in."""
    catalogue = CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE])
    return catalogue[key].format_map(_Values({name: html.escape(str(value), quote=False)
                                              for name, value in values.items()}))


class _Values(dict[str, str]):
    """A placeholder nobody filled in reads as empty rather than failing in front of the person."""

    def __missing__(self, key: str) -> str:
        return ""


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def money(amount: str | Decimal, currency: str = "PEN") -> str:
    """Soles as Peruvians write them ("S/ 37.70"); other currencies with their code."""
    try:
        value = f"{Decimal(str(amount)):.2f}"
    except InvalidOperation:
        value = str(amount)
    return f"S/ {value}" if currency == "PEN" else f"{currency} {value}"


def lima_datetime(value: str | datetime, lang: str) -> str:
    """An instant as a date and time in Lima, e.g. "21 nov 2026, 10:00"."""
    from babel.dates import format_datetime

    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(LIMA).replace(tzinfo=None), "d MMM y, HH:mm", locale=lang)


def country_name(alpha2: str, lang: str) -> str:
    from babel import Locale

    return str(Locale.parse(lang).territories.get(alpha2, alpha2))
